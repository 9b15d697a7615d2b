"""What a file that is not UTF-8 text is, told from its first bytes, so that a store sending a
compressed file, a spreadsheet or a UTF-16 export learns what to do instead of reading that its
file "starts with 'ÿ'"."""

from __future__ import annotations

# (signature, what the file looks like, what to do instead); the longest signatures first,
# where one is the start of another.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x1f\x8b", "a gzip-compressed file", "upload it uncompressed"),
    (b"BZh", "a bzip2-compressed file", "upload it uncompressed"),
    (b"\xfd7zXZ\x00", "an xz-compressed file", "upload it uncompressed"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file", "upload it uncompressed"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "upload the store file itself, uncompressed"),
    (b"Rar!\x1a\x07", "a RAR archive", "upload the store file itself, uncompressed"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls)", "export the sheet as CSV (UTF-8)"),
    (b"%PDF-", "a PDF document", "upload the JSON or CSV export instead"),
    (b"PAR1", "a Parquet file", "upload JSON or CSV"),
    (b"SQLite format 3\x00", "an SQLite database", "upload JSON or CSV"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image", "upload JSON or CSV"),
    (b"\xff\xd8\xff", "a JPEG image", "upload JSON or CSV"),
    (b"GIF8", "a GIF image", "upload JSON or CSV"),
)
_ZIP = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_BYTE_ORDER_MARKS = (
    # UTF-32 first: its little-endian mark begins with UTF-16's.
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def _wide_encoding(head: bytes) -> str | None:
    """UTF-16 or UTF-32 without a byte order mark: text mostly in ASCII then has a zero byte in
    every second (or three of every four) bytes."""
    sample = head[:4096]
    if len(sample) < 16:  # too little to tell
        return None
    quarters = [sample[offset::4].count(0) / len(sample[offset::4]) for offset in range(4)]
    if sum(share > 0.9 for share in quarters) == 3:
        return "UTF-32"
    halves = [sample[offset::2].count(0) / len(sample[offset::2]) for offset in range(2)]
    if max(halves) > 0.4 and min(halves) < 0.05:
        return "UTF-16"
    return None


def binary_file_problem(head: bytes) -> str | None:
    """Why a file whose first bytes are `head` cannot be a text upload, or None when it can."""
    for mark, encoding in _BYTE_ORDER_MARKS:
        if head.startswith(mark):
            return f"this file is {encoding} text; save it as UTF-8"
    if head.startswith(_ZIP):
        if b"[Content_Types].xml" in head or b"xl/" in head:
            return "this looks like an Excel workbook (.xlsx); export the sheet as CSV (UTF-8)"
        return "this looks like a ZIP archive; upload the store file itself, uncompressed"
    for signature, kind, advice in _SIGNATURES:
        if head.startswith(signature):
            return f"this looks like {kind}; {advice}"
    wide = _wide_encoding(head)
    if wide:
        return f"this file is {wide} text; save it as UTF-8"
    zero = head.find(b"\x00")
    if zero >= 0:
        return f"this file holds binary data (a zero byte at byte {zero + 1}), not text; upload JSON or CSV"
    return None
