"""The bucket behaves the same on a laptop folder and on S3.

Every behavioural test runs against the folder store and against S3 (moto), plain and with
versioning switched on, since production buckets are often versioned.
"""

from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig

from sales_platform.resources.local_object_store import LocalObjectStore
from sales_platform.resources.object_store import ObjectIsLink, ObjectNotFound, ObjectStore
from sales_platform.resources.s3_object_store import S3ObjectStore, make_s3_client
from sales_platform_tests.fake_aws import REGION, fake_aws

BUCKET = "sales-test"
MB = 1024 * 1024


@dataclass
class Bucket:
    store: ObjectStore
    # How long to wait between two writes of identical bytes for their versions to differ:
    # S3 tells them apart by LastModified, which has whole-second resolution.
    rewrite_interval: float


def _s3_store(versioned: bool) -> S3ObjectStore:
    client = make_s3_client(REGION)
    client.create_bucket(Bucket=BUCKET)
    if versioned:
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    # Thresholds at S3's 5 MB minimum part size, so a 6 MB file goes through multipart.
    transfer = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)
    return S3ObjectStore(BUCKET, client, transfer_config=transfer)


@pytest.fixture(params=["local", "s3", "s3-versioned"])
def bucket(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    if request.param == "local":
        yield Bucket(LocalObjectStore(tmp_path / "bucket"), rewrite_interval=0.0)
        return
    with fake_aws(monkeypatch):
        yield Bucket(_s3_store(versioned=request.param == "s3-versioned"), rewrite_interval=1.1)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3ObjectStore]:
    with fake_aws(monkeypatch):
        yield _s3_store(versioned=False)


def _keys(store: ObjectStore, prefix: str) -> list[str]:
    return [info.key for info in store.list(prefix)]


def test_list_gives_the_keys_under_a_prefix_in_key_order_across_folders(bucket: Bucket) -> None:
    store = bucket.store
    keys = [
        "uploads/store_0002_2025-11-27.json",
        "uploads/store_0001_2025-11-27.json",
        "uploads/store_0001_2025-11-28.json",
        "processed/year=2025/month=11/day=27/store_id=0002/data.parquet",
        "processed/year=2025/month=11/day=27/store_id=0001/data.parquet",
        "processed/year=2025/month=11/day=28/store_id=0001/data.parquet",
        # A file and a folder side by side: the folder's keys sort between the files.
        "reports/2025-11-28.html",
        "reports/2025-11-27/attachments/products.csv",
        "reports/2025-11-27.html",
    ]
    for key in keys:
        store.write_bytes(key, key.encode())

    assert _keys(store, "") == sorted(keys)
    assert _keys(store, "reports/") == [
        "reports/2025-11-27.html",
        "reports/2025-11-27/attachments/products.csv",
        "reports/2025-11-28.html",
    ]
    assert _keys(store, "uploads/store_0001") == [
        "uploads/store_0001_2025-11-27.json",
        "uploads/store_0001_2025-11-28.json",
    ]
    assert _keys(store, "processed/year=2025/month=11/day=27/") == [
        "processed/year=2025/month=11/day=27/store_id=0001/data.parquet",
        "processed/year=2025/month=11/day=27/store_id=0002/data.parquet",
    ]
    processed = sorted(key for key in keys if key.startswith("processed/"))
    assert _keys(store, "processed/year=2025/month=11/day=2") == processed
    assert _keys(store, "archive/") == []
    sizes = {info.key: info.size for info in store.list("uploads/")}
    assert sizes["uploads/store_0002_2025-11-27.json"] == len(b"uploads/store_0002_2025-11-27.json")


@pytest.mark.slow
def test_list_returns_every_key_beyond_one_page(bucket: Bucket) -> None:
    # S3 returns at most 1,000 keys per ListObjectsV2 call.
    keys = [f"uploads/store_{n:04d}_2025-11-27.json" for n in range(1050)]
    for key in random.Random(7).sample(keys, len(keys)):
        bucket.store.write_bytes(key, b"[]")
    bucket.store.write_bytes("uploadsX/other.json", b"[]")

    assert _keys(bucket.store, "uploads/") == keys


def test_head_describes_an_object_and_is_none_for_a_missing_key(bucket: Bucket) -> None:
    store = bucket.store
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    store.write_bytes("uploads/store_0001_2025-11-27.json", b"[1, 2, 3]", content_type="application/json")

    info = store.head("uploads/store_0001_2025-11-27.json")

    assert info is not None
    assert info.key == "uploads/store_0001_2025-11-27.json"
    assert info.name == "store_0001_2025-11-27.json"
    assert info.size == 9
    assert info.last_modified.utcoffset() == dt.timedelta(0)
    assert before - dt.timedelta(seconds=1) <= info.last_modified <= dt.datetime.now(dt.UTC)
    assert store.exists("uploads/store_0001_2025-11-27.json")
    assert store.head("uploads/store_0001_2025-11-28.json") is None
    assert not store.exists("uploads/store_0001_2025-11-28.json")


def test_missing_keys_raise_object_not_found(bucket: Bucket) -> None:
    store = bucket.store
    with pytest.raises(ObjectNotFound, match="uploads/missing.json"):
        store.read_bytes("uploads/missing.json")
    with pytest.raises(ObjectNotFound):
        with store.local_copy("uploads/missing.json"):
            pass
    with pytest.raises(ObjectNotFound):
        store.copy("uploads/missing.json", "archive/missing.json")
    with pytest.raises(ObjectNotFound):
        store.move("uploads/missing.json", "archive/missing.json")
    assert store.head("archive/missing.json") is None


def test_a_write_replaces_the_whole_object(bucket: Bucket, tmp_path: Path) -> None:
    store = bucket.store
    store.write_bytes("reports/2025-11-27.txt", b"A" * 10_000)
    store.write_bytes("reports/2025-11-27.txt", b"short")
    assert store.read_bytes("reports/2025-11-27.txt") == b"short"
    assert store.head("reports/2025-11-27.txt").size == 5

    replacement = tmp_path / "replacement.txt"
    replacement.write_bytes(b"from a file")
    info = store.write_file("reports/2025-11-27.txt", replacement, content_type="text/plain")
    assert store.read_bytes("reports/2025-11-27.txt") == b"from a file"
    assert info.size == len(b"from a file")
    assert _keys(store, "") == ["reports/2025-11-27.txt"]


def test_write_list_and_head_report_the_same_version(bucket: Bucket, tmp_path: Path) -> None:
    # The upload sensor remembers versions from listings and compares them with what it
    # lists later or reads with head; any disagreement would reprocess a file forever.
    store = bucket.store
    written = store.write_bytes("uploads/a.json", b"[]")
    source = tmp_path / "b.json"
    source.write_bytes(b"[1]")
    written_file = store.write_file("uploads/b.json", source)

    listed = {info.key: info for info in store.list("uploads/")}

    assert listed["uploads/a.json"] == written == store.head("uploads/a.json")
    assert listed["uploads/b.json"] == written_file == store.head("uploads/b.json")


@pytest.mark.slow
def test_rewriting_identical_bytes_gives_a_new_version(bucket: Bucket) -> None:
    store = bucket.store
    first = store.write_bytes("uploads/store_0001_2025-11-27.json", b"[]")
    time.sleep(bucket.rewrite_interval)
    second = store.write_bytes("uploads/store_0001_2025-11-27.json", b"[]")

    assert second.version != first.version
    assert store.head("uploads/store_0001_2025-11-27.json").version == second.version
    assert [info.version for info in store.list("uploads/")] == [second.version]


def test_copy_duplicates_an_object_and_overwrites_the_destination(bucket: Bucket) -> None:
    store = bucket.store
    store.write_bytes("uploads/store_0001_2025-11-27.json", b"new")
    store.write_bytes("archive/store_0001_2025-11-27.json", b"old archived copy")

    store.copy("uploads/store_0001_2025-11-27.json", "archive/store_0001_2025-11-27.json")

    assert store.read_bytes("archive/store_0001_2025-11-27.json") == b"new"
    assert store.read_bytes("uploads/store_0001_2025-11-27.json") == b"new"


@pytest.mark.slow
def test_move_leaves_the_object_only_at_its_destination(bucket: Bucket) -> None:
    store = bucket.store
    store.write_bytes("uploads/store_0001_2025-11-27.json", b"bad file")

    store.move("uploads/store_0001_2025-11-27.json", "rejected/store_0001_2025-11-27.json")

    assert store.head("uploads/store_0001_2025-11-27.json") is None
    assert store.read_bytes("rejected/store_0001_2025-11-27.json") == b"bad file"
    assert _keys(store, "") == ["rejected/store_0001_2025-11-27.json"]


def test_delete_removes_an_object_and_ignores_a_missing_one(bucket: Bucket) -> None:
    store = bucket.store
    store.write_bytes("uploads/a.json", b"[]")
    store.write_bytes("uploads/b.json", b"[]")

    store.delete("uploads/a.json")
    store.delete("uploads/a.json")
    store.delete("uploads/never-existed.json")

    assert _keys(store, "uploads/") == ["uploads/b.json"]
    with pytest.raises(ObjectNotFound):
        store.read_bytes("uploads/a.json")


def test_local_copy_is_a_readable_file_with_the_object_name(bucket: Bucket) -> None:
    bucket.store.write_bytes("processed/year=2025/month=11/day=27/store_id=0001/data.parquet", b"PAR1 data PAR1")

    with bucket.store.local_copy("processed/year=2025/month=11/day=27/store_id=0001/data.parquet") as path:
        assert path.name == "data.parquet"
        assert path.read_bytes() == b"PAR1 data PAR1"


@pytest.mark.slow
def test_a_large_file_survives_upload_copy_and_download(bucket: Bucket, tmp_path: Path) -> None:
    # 6 MB: above the S3 store's multipart threshold in these tests, so parts are assembled.
    content = random.Random(3).randbytes(6 * MB)
    source = tmp_path / "big.parquet"
    source.write_bytes(content)

    info = bucket.store.write_file("processed/big.parquet", source)
    bucket.store.copy("processed/big.parquet", "archive/big.parquet")

    assert info.size == len(content)
    with bucket.store.local_copy("archive/big.parquet") as path:
        assert path.read_bytes() == content


@pytest.mark.parametrize("key", ["", "/uploads/a.json", "uploads/../secrets", "uploads//a.json", "uploads\\a.json"])
def test_keys_that_could_not_exist_in_both_backends_are_refused(bucket: Bucket, key: str) -> None:
    with pytest.raises(ValueError, match="not a valid object key"):
        bucket.store.write_bytes(key, b"x")


def test_local_listing_never_shows_files_still_being_written(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    store.write_bytes("uploads/a.json", b"[]")
    # What a write interrupted by a crash leaves behind.
    (tmp_path / ".staging").mkdir(exist_ok=True)
    (tmp_path / ".staging" / "0123abcd").write_bytes(b"[half a fi")

    assert _keys(store, "") == ["uploads/a.json"]


def test_local_readers_see_the_old_or_the_new_object_never_a_mix(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    versions = [bytes([letter]) * (512 * 1024) for letter in b"AB"]
    store.write_bytes("processed/data.parquet", versions[0])
    stop = threading.Event()

    def keep_rewriting() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            store.write_bytes("processed/data.parquet", versions[n % 2])

    writer = threading.Thread(target=keep_rewriting)
    writer.start()
    try:
        seen = [store.read_bytes("processed/data.parquet") for _ in range(200)]
    finally:
        stop.set()
        writer.join()

    assert all(content in versions for content in seen)


# --------------------------------------------------------------------------- links (local)


@pytest.fixture
def linked(tmp_path: Path) -> LocalObjectStore:
    """A bucket holding, beside a real upload, a link to a secret outside it, a link to a
    folder outside it, and a bucket folder that is itself a link."""
    outside = tmp_path / "outside"
    (outside / "folder").mkdir(parents=True)
    (outside / "secret.txt").write_text("root:x:0:0")
    (outside / "folder" / "store_0002_2025-11-27.json").write_text("[]")
    store = LocalObjectStore(tmp_path / "bucket")
    store.write_bytes("uploads/store_0001_2025-11-27.json", b"[]")
    (store.root / "uploads" / "store_0003_2025-11-27.json").symlink_to(outside / "secret.txt")
    (store.root / "uploads" / "folder").symlink_to(outside / "folder")
    (store.root / "reports").symlink_to(outside / "folder")
    return store


def test_links_are_listed_as_links_and_never_entered(linked: LocalObjectStore) -> None:
    listed = {info.key: info.is_link for info in linked.list("")}
    assert listed == {
        "reports": True,
        "uploads/folder": True,
        "uploads/store_0001_2025-11-27.json": False,
        "uploads/store_0003_2025-11-27.json": True,
    }
    assert _keys(linked, "uploads/folder/") == [] and _keys(linked, "reports/") == []
    link = linked.head("uploads/store_0003_2025-11-27.json")
    assert link is not None and link.is_link and link.size != len("root:x:0:0"), "the link's own size, not its target's"
    assert linked.head("uploads/folder/store_0002_2025-11-27.json") is None


@pytest.mark.parametrize(
    "key",
    [
        "uploads/store_0003_2025-11-27.json",
        "uploads/folder/store_0002_2025-11-27.json",
        "reports/store_0002_2025-11-27.json",
    ],
)
def test_nothing_is_read_copied_or_moved_through_a_link(linked: LocalObjectStore, key: str) -> None:
    with pytest.raises(ObjectIsLink):
        linked.read_bytes(key)
    with pytest.raises(ObjectIsLink):
        with linked.local_copy(key):
            pass
    with pytest.raises(ObjectIsLink):
        linked.copy(key, "rejected/copied.json")
    with pytest.raises(ObjectIsLink):
        linked.move(key, "archive/moved.json")
    assert _keys(linked, "rejected/") == [] and _keys(linked, "archive/") == []


def test_nothing_is_written_or_deleted_through_a_linked_folder(linked: LocalObjectStore, tmp_path: Path) -> None:
    with pytest.raises(ObjectIsLink):
        linked.write_bytes("reports/2025-11-27/report.txt", b"x")
    linked.delete("uploads/folder/store_0002_2025-11-27.json")
    assert (tmp_path / "outside" / "folder" / "store_0002_2025-11-27.json").exists()
    assert sorted(path.name for path in (tmp_path / "outside" / "folder").iterdir()) == ["store_0002_2025-11-27.json"]
    # A link itself can be removed; what it points at stays.
    linked.delete("uploads/store_0003_2025-11-27.json")
    assert (tmp_path / "outside" / "secret.txt").read_text() == "root:x:0:0"
    assert linked.head("uploads/store_0003_2025-11-27.json") is None


def test_a_refused_link_is_set_aside_as_a_link_and_its_secret_never_copied(
    linked: LocalObjectStore, tmp_path: Path
) -> None:
    from sales_platform.domain.storage_layout import StorageLayout
    from sales_platform.domain.upload_contract import Problem, Refusal
    from sales_platform.services.upload_intake import leave_inbox, refuse

    info = linked.head("uploads/store_0003_2025-11-27.json")
    assert info is not None and info.is_link
    rejected_key, report_key = refuse(
        linked, StorageLayout(), info, Refusal([Problem("a link")], 1), None, dt.datetime.now(dt.UTC)
    )
    leave_inbox(linked, StorageLayout(), info)

    assert linked.head(info.key) is None
    moved = linked.head(rejected_key)
    assert moved is not None and moved.is_link, "the link itself, not a copy of what it points at"
    with pytest.raises(ObjectIsLink):
        linked.read_bytes(rejected_key)
    assert (tmp_path / "outside" / "secret.txt").read_text() == "root:x:0:0"
    readable = [info.key for info in linked.list("rejected/") if not info.is_link]
    assert readable == [report_key] and b"root:x" not in linked.read_bytes(report_key)


def test_move_link_moves_links_only(linked: LocalObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        linked.move_link("uploads/store_0001_2025-11-27.json", "rejected/store_0001_2025-11-27.json")
    assert linked.read_bytes("uploads/store_0001_2025-11-27.json") == b"[]"
    linked.move_link("uploads/folder", "rejected/folder")
    assert linked.head("rejected/folder").is_link and _keys(linked, "rejected/folder/") == []


def test_a_file_held_open_for_writing_is_named_until_its_writer_closes_it(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "bucket")
    store.write_bytes("uploads/store_0001_2025-11-27.jsonl", b"")
    store.write_bytes("uploads/store_0002_2025-11-27.jsonl", b"{}\n")
    path = store.root / "uploads" / "store_0001_2025-11-27.jsonl"
    keys = ["uploads/store_0001_2025-11-27.jsonl", "uploads/store_0002_2025-11-27.jsonl", "uploads/missing.json"]
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; f = open(sys.argv[1], 'a'); f.write('{}'); f.flush(); print('ok', flush=True); sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline() == "ok\n"
        with open(store.root / "uploads" / "store_0002_2025-11-27.jsonl", "rb"):  # a reader is no writer
            assert store.open_for_writing(keys) == {"uploads/store_0001_2025-11-27.jsonl"}
    finally:
        writer.communicate("")
    assert store.open_for_writing(keys) == set()


# --------------------------------------------------------------------------- staged writes (local)


def test_a_write_that_fails_halfway_leaves_nothing_behind(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "bucket")
    with pytest.raises(RuntimeError):
        with store.writer("uploads/store_0001_2025-11-27.json") as handle:
            handle.write(b"[{half")
            raise RuntimeError("the client went away")
    assert _keys(store, "") == []
    assert list((store.root / ".staging").iterdir()) == []


def test_a_file_being_written_has_no_name_until_it_is_published(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "bucket")
    with store.writer("uploads/store_0001_2025-11-27.json") as handle:
        handle.write(b"[]")
        handle.flush()
        assert list((store.root / ".staging").iterdir()) == [], "a process killed now leaves nothing"
        assert store.head("uploads/store_0001_2025-11-27.json") is None
    assert store.read_bytes("uploads/store_0001_2025-11-27.json") == b"[]"


def test_abandoned_staged_files_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    import fcntl
    import os

    store = LocalObjectStore(tmp_path / "bucket")
    staging = store.root / ".staging"
    staging.mkdir(parents=True)
    old = time.time() - 3600
    for name in ("abandoned", "being-written", "just-created"):
        (staging / name).write_bytes(b"partial")
    for name in ("abandoned", "being-written"):
        os.utime(staging / name, (old, old))
    with open(staging / "being-written", "rb") as live:
        fcntl.flock(live.fileno(), fcntl.LOCK_EX)  # as its writer holds it
        assert store.remove_abandoned_writes() == 1
    assert sorted(path.name for path in staging.iterdir()) == ["being-written", "just-created"]


def test_s3_local_copy_is_removed_afterwards_even_when_the_reader_fails(s3: S3ObjectStore) -> None:
    s3.write_bytes("processed/data.parquet", b"PAR1")

    with pytest.raises(RuntimeError):
        with s3.local_copy("processed/data.parquet") as path:
            assert path.exists()
            raise RuntimeError("reader crashed")

    assert not path.exists()
    assert not path.parent.exists()


def test_s3_listing_skips_folder_markers_made_by_the_console(s3: S3ObjectStore) -> None:
    s3.client.put_object(Bucket=BUCKET, Key="uploads/", Body=b"")
    s3.write_bytes("uploads/store_0001_2025-11-27.json", b"[]")

    assert _keys(s3, "uploads/") == ["uploads/store_0001_2025-11-27.json"]


def test_s3_store_names_its_bucket(s3: S3ObjectStore) -> None:
    assert s3.description == f"s3://{BUCKET}"
