"""The daily report for a known day, end to end through Dagster: the analysis' items in the
table, a `daily_insights` materialization, then `process` as a user runs it. What managers
read (text and HTML), the charts, where the report is stored, and when it is (not) sent."""

from __future__ import annotations

import email
import email.policy
import io
import json
from decimal import Decimal

import dagster as dg
import pytest
from PIL import Image

from sales_platform import cli
from sales_platform.resources import notifier as notifier_module
from sales_platform_tests.conftest import Platform, days_ago
from sales_platform_tests.report_fixtures import MISSING_STORE, analysis_finished, write_company_only, write_known_days
from sales_platform_tests.smtp_server import RecordingHandler, smtp_server

DAILY_REPORT = dg.AssetKey("daily_report")


def outbox(platform: Platform, kind: str = "report") -> list[email.message.EmailMessage]:
    files = sorted(platform.settings.outbox_path.glob(f"*-{kind}-*.eml"))
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]


def send_report(monkeypatch, platform: Platform, *args: str, **settings: str) -> int:
    """`sales-platform send-report ARGS` with the platform's configuration in the environment."""
    environment = {
        "SALES_PLATFORM_HOME": str(platform.settings.home_path),
        "EXPECTED_STORES": ",".join(platform.settings.stores.expected_stores),
    }
    for name, value in {**environment, **settings}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["send-report", *args])
    return exit_info.value.code


def report_runs(platform: Platform) -> list[dg.DagsterRun]:
    """Runs that were to materialize the daily report, whatever asked for them."""
    return [run for run in platform.instance.get_runs() if DAILY_REPORT in (run.asset_selection or ())]


@pytest.fixture
def day():
    return days_ago(1)


# --------------------------------------------------------------------------- content


@pytest.mark.slow
def test_the_report_for_a_known_day_says_what_managers_need(local_platform: Platform, day) -> None:
    write_known_days(local_platform.table, day, local_platform.settings.stores.expected_stores)
    analysis_finished(local_platform, day)

    report = local_platform.process()

    assert [outcome.status for outcome in report.outcomes] == ["done"]
    [mail] = outbox(local_platform)
    assert mail["Subject"] == f"Daily Sales Report - {day.isoformat()}"
    text = mail.get_body(("plain",)).get_content()
    assert text == local_platform.bucket.read_bytes(f"reports/{day}/report.txt").decode()
    for expected in (
        "Net sales:                    $2,234.75",  # 1,500.25 + 734.50
        "Gross sales:                  $2,334.75",
        "Discounts:                    $100.00",
        "Transactions:                 80",
        "Stores reporting:             2/3",  # two reported of the three configured
        "Best store:                   Store 0001 ($1,500.25 net)",
        "Worst store:                  Store 0002 ($734.50 net)",
        "Gift card                $1,340.85   60.0%",
        "1. Papa Smurf Figurine (SKU-042): 31 units, $600.00",
        "CRITICAL (1)\n  - Store 0002 far below its usual day",
        "-> Company sales down week over week (down, -12.5%)",
        "-> Mobile share of sales up 3.2 points (up, +3.2 points)",
        "Recommendations written by Amazon Bedrock.",
        "HIGH PRIORITY\n  1. Restock Papa Smurf Figurine [inventory]",
        "LOW PRIORITY\n  2. Call store 0003 about its missing upload [operations]",
        f"1 of 3 expected stores sent no data: {MISSING_STORE}",
    ):
        assert expected in text, expected
    assert "gift_card" not in text and "/11" not in text
    # Sections in the order managers know.
    headings = [
        "COMPANY SUMMARY",
        "PAYMENT BREAKDOWN",
        "TOP PRODUCTS",
        "ANOMALIES",
        "TRENDS",
        "RECOMMENDATIONS",
        "STORES MISSING",
    ]
    assert [text.index(h) for h in headings] == sorted(text.index(h) for h in headings)
    assert text.index("CRITICAL (1)") < text.index("INFO (1)")


@pytest.mark.slow
def test_the_html_part_has_tables_and_both_charts_inline(local_platform: Platform, day) -> None:
    write_known_days(local_platform.table, day, local_platform.settings.stores.expected_stores)
    analysis_finished(local_platform, day)
    local_platform.process()

    [mail] = outbox(local_platform)
    html = mail.get_body(("html",)).get_content()
    assert "<table>" in html and '<td class="num">$2,234.75</td>' in html
    assert "<td>Gift card</td>" in html and '<td class="num">2/3</td>' in html
    assert f"<b>{MISSING_STORE}</b>" in html and "Recommendations written by Amazon Bedrock." in html
    images = {part["Content-ID"]: part.get_content() for part in mail.walk() if part.get_content_type() == "image/png"}
    assert set(images) == {"<net-sales-by-store@sales-platform>", "<company-net-sales-30-days@sales-platform>"}
    for content_id in images:
        assert f'src="cid:{content_id.strip("<>")}"' in html
    for png in images.values():
        image = Image.open(io.BytesIO(png))
        image.verify()
        assert image.format == "PNG" and image.size[0] >= 600


@pytest.mark.slow
def test_the_report_is_stored_with_its_charts_for_the_api_and_resending(local_platform: Platform, day) -> None:
    write_known_days(local_platform.table, day, local_platform.settings.stores.expected_stores)
    analysis_finished(local_platform, day)
    local_platform.process()

    folder = f"reports/{day}/"
    assert local_platform.keys(folder) == [
        folder + name
        for name in (
            "company_net_sales_30_days.png",
            "deliveries.json",
            "net_sales_by_store.png",
            "report.html",
            "report.json",
            "report.txt",
        )
    ]
    stored_html = local_platform.bucket.read_bytes(folder + "report.html").decode()
    assert 'src="net_sales_by_store.png"' in stored_html  # opens with its charts straight from the folder
    for chart in ("net_sales_by_store.png", "company_net_sales_30_days.png"):
        assert local_platform.bucket.read_bytes(folder + chart).startswith(b"\x89PNG\r\n\x1a\n")
    description = json.loads(local_platform.bucket.read_bytes(folder + "report.json"))
    assert description["recommendations_engine"] == "bedrock"
    deliveries = json.loads(local_platform.bucket.read_bytes(folder + "deliveries.json"))
    [send] = deliveries["sends"]
    assert send["content_hash"] == description["content_hash"] and list(send["channels"]) == ["outbox"]
    [materialization] = [
        e.asset_materialization for e in local_platform.instance.fetch_materializations(DAILY_REPORT, limit=10).records
    ]
    assert materialization.partition == day.isoformat()
    assert materialization.metadata["delivery"].value == "sent"


@pytest.mark.slow
def test_the_engine_that_wrote_the_recommendations_is_named(local_platform: Platform, day) -> None:
    write_known_days(local_platform.table, day, local_platform.settings.stores.expected_stores, engine="rules")
    analysis_finished(local_platform, day)
    local_platform.process()

    text = outbox(local_platform)[0].get_body(("plain",)).get_content()
    assert "Recommendations written by the platform's rules." in text
    assert "Bedrock" not in text
    assert outbox(local_platform, "alert") == []  # rules were asked for: no fallback


# --------------------------------------------------------------------------- sending once


@pytest.mark.slow
def test_a_rerun_with_the_same_content_is_not_sent_again(local_platform: Platform, day) -> None:
    write_known_days(local_platform.table, day, local_platform.settings.stores.expected_stores)
    analysis_finished(local_platform, day)
    local_platform.process()
    # The analysis runs again for the day (a late file that changed nothing, a manual rerun).
    analysis_finished(local_platform, day)
    local_platform.process()

    assert len(report_runs(local_platform)) == 2
    assert len(outbox(local_platform)) == 1
    latest = local_platform.instance.fetch_materializations(DAILY_REPORT, limit=1).records[0].asset_materialization
    assert latest.metadata["delivery"].value == "unchanged"


@pytest.mark.slow
def test_changed_content_replaces_the_stored_report_and_is_sent_again(local_platform: Platform, day) -> None:
    expected = local_platform.settings.stores.expected_stores
    write_known_days(local_platform.table, day, expected)
    analysis_finished(local_platform, day)
    local_platform.process()
    # A late upload changes the day: the analysis writes new figures.
    write_company_only(local_platform.table, day, expected, Decimal("9999.99"))
    analysis_finished(local_platform, day)
    local_platform.process()

    first, second = outbox(local_platform)
    assert "$9,999.99" in second.get_body(("plain",)).get_content()
    assert "$9,999.99" in local_platform.bucket.read_bytes(f"reports/{day}/report.txt").decode()
    deliveries = json.loads(local_platform.bucket.read_bytes(f"reports/{day}/deliveries.json"))
    assert [send["reason"] for send in deliveries["sends"]] == ["first", "changed"]


@pytest.mark.slow
def test_send_report_resends_only_when_asked_explicitly(local_platform: Platform, day, monkeypatch, capsys) -> None:
    write_known_days(local_platform.table, day, local_platform.settings.stores.expected_stores)
    analysis_finished(local_platform, day)
    local_platform.process()

    assert send_report(monkeypatch, local_platform, "--date", day.isoformat()) == 0
    assert "nothing sent" in capsys.readouterr().out
    assert len(outbox(local_platform)) == 1

    assert send_report(monkeypatch, local_platform, "--date", day.isoformat(), "--force") == 0
    assert len(outbox(local_platform)) == 2
    deliveries = json.loads(local_platform.bucket.read_bytes(f"reports/{day}/deliveries.json"))
    assert [send["reason"] for send in deliveries["sends"]] == ["first", "forced"]

    assert send_report(monkeypatch, local_platform, "--date", days_ago(5).isoformat()) == 2
    assert "no report stored" in capsys.readouterr().err


@pytest.mark.slow
def test_a_channel_that_keeps_failing_fails_the_step_and_loses_nothing(
    make_local_platform, day, monkeypatch, capsys
) -> None:
    monkeypatch.setattr(notifier_module, "DEFAULT_RETRY_DELAYS", (0.05, 0.05, 0.05))
    handler = RecordingHandler(refusals=["451 4.3.0 Mail server busy"] * 8)
    with smtp_server(handler) as port:
        smtp = {
            "NOTIFY_CHANNELS": "outbox,smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(port),
            "SMTP_SECURITY": "none",
            "REPORT_RECIPIENTS": "manager@example.com",
        }
        platform = make_local_platform(**smtp)
        write_known_days(platform.table, day, platform.settings.stores.expected_stores)
        analysis_finished(platform, day)

        [outcome] = platform.process().outcomes

        assert outcome.status == "failed"
        assert "451" in outcome.detail and f"send-report --date {day}" in outcome.detail
        # 4 attempts for the report, then 2 (a sensor tick's brief retry) for the alert about
        # the failed run: all refused.
        assert handler.attempts == 6 and handler.messages == []
        assert platform.keys(f"reports/{day}/report.json")  # stored, ready to be sent again
        assert len(outbox(platform)) == 1  # the outbox got it; it must not get it twice
        [alert] = outbox(platform, "alert")
        assert "daily_report" in alert["Subject"]

        # The mail server is back: send the stored report.
        code = send_report(monkeypatch, platform, "--date", day.isoformat(), **smtp)

    assert code == 0, capsys.readouterr()
    [mail] = handler.messages
    assert mail["Subject"] == f"Daily Sales Report - {day}"
    assert len(outbox(platform)) == 1
    assert "already had" not in capsys.readouterr().out


# --------------------------------------------------------------------------- Bedrock fallback


@pytest.mark.slow
def test_a_bedrock_fallback_is_named_in_the_report_and_alerted_once_per_day(local_platform: Platform, day) -> None:
    expected = local_platform.settings.stores.expected_stores
    write_known_days(local_platform.table, day, expected, engine="rules")
    fallback = {
        "engine": "rules",
        "requested_engine": "bedrock",
        "fallback_reason": "ThrottlingException: rate exceeded",
    }
    analysis_finished(local_platform, day, **fallback)
    local_platform.process()
    write_company_only(local_platform.table, day, expected, Decimal("1234.56"))  # content changes, report resent
    analysis_finished(local_platform, day, **fallback)
    local_platform.process()

    reports = outbox(local_platform)
    assert len(reports) == 2
    assert (
        "Recommendations written by the platform's rules: Amazon Bedrock was unavailable "
        "(ThrottlingException: rate exceeded)." in reports[0].get_body(("plain",)).get_content()
    )
    [alert] = outbox(local_platform, "alert")
    assert alert["Subject"] == f"Bedrock unavailable: recommendations for {day} written by rules"
    assert "ThrottlingException: rate exceeded" in alert.get_body(("plain",)).get_content()

    # Another day falls back too: it gets its own alert.
    other = days_ago(2)
    write_known_days(local_platform.table, other, expected, engine="rules", history_days=0)
    analysis_finished(local_platform, other, **fallback)
    local_platform.process()
    assert len(outbox(local_platform, "alert")) == 2


# --------------------------------------------------------------------------- the domain alone


@pytest.mark.slow
def test_a_sparse_day_still_reads_well_and_builds_the_same_bytes_every_time() -> None:
    import datetime as dt

    from sales_platform.domain.daily_report import ReportInputs, build_daily_report

    day = dt.date(2025, 11, 27)
    inputs = ReportInputs(
        day=day,
        company={"net_sales": Decimal("10.50"), "reported_stores": ["0001"]},
        stores=[{"store_id": "0001", "net_sales": Decimal("10.50")}],
        products=[],
        insights=[
            {"insight_type": "recommendation", "engine": "bedrock", "title": "Open earlier", "priority": "urgent"},
            {"insight_type": "recommendation", "engine": "rules", "title": "Count stock"},
        ],
        history=[(day - dt.timedelta(days=1), None), (day, Decimal("10.50"))],
        expected_stores=["0002", "0001"],
    )

    first, second = build_daily_report(inputs), build_daily_report(inputs)

    assert first.content_hash == second.content_hash
    assert [c.png for c in first.charts] == [c.png for c in second.charts]
    text = first.text
    assert "Net sales:                    $10.50" in text and "Gross sales:                  n/a" in text
    assert "No payments recorded." in text and "No anomalies detected." in text and "No notable trends." in text
    assert "Recommendations written by Amazon Bedrock and the platform's rules." in text
    assert "OTHER PRIORITY" in text  # a priority the report does not know is still shown
    assert "Stores reporting:             1/2" in text and "1 of 2 expected stores sent no data: 0002" in text


def _coverage_day(compared: list[str], not_compared: dict[str, str], anomalies=(), trend_notes=()):
    import datetime as dt

    from sales_platform.domain.daily_report import ReportInputs, build_daily_report

    day = dt.date(2025, 11, 22)
    stores = sorted([*compared, *not_compared])
    coverage = [
        {
            "insight_type": "coverage",
            "insight_id": "anomalies",
            "compared_stores": compared,
            "not_compared": [{"store_id": s, "reason": why} for s, why in sorted(not_compared.items())],
        },
        {"insight_type": "coverage", "insight_id": "trends", "notes": list(trend_notes)},
    ]
    return build_daily_report(
        ReportInputs(
            day=day,
            company={"net_sales": Decimal("100.00"), "reported_stores": stores},
            stores=[{"store_id": s, "net_sales": Decimal("50.00")} for s in stores],
            products=[],
            insights=[*coverage, *anomalies],
            history=[(day, Decimal("100.00"))],
            expected_stores=stores,
        )
    )


@pytest.mark.slow
def test_the_report_names_the_stores_it_could_not_compare_instead_of_calling_them_normal() -> None:
    short = "2 earlier Saturday(s) in the last 8 weeks, 3 needed"
    report = _coverage_day(
        ["0001"],
        {"0002": short},
        trend_notes=["week over week needs 4 weekdays with every store in both weeks; found 2"],
    )

    text, html = " ".join(report.text.split()), report.file_html
    assert "No anomalies detected." not in text
    assert "No anomalies at the 1 store(s) compared with their history." in text
    assert f"Not compared with their history (1 store(s)): store 0002 ({short})." in text
    assert "No notable trends in what could be measured." in text
    assert "Not measured: week over week needs 4 weekdays" in text
    assert f"store 0002 ({short})" in html


def test_with_no_history_at_all_the_report_claims_nothing() -> None:
    report = _coverage_day(
        [],
        {
            "0001": "0 earlier Saturday(s) in the last 8 weeks, 3 needed",
            "0002": "0 earlier Saturday(s) in the last 8 weeks, 3 needed",
        },
    )

    text = " ".join(report.text.split())
    assert "No store could be compared with its own history yet, so none can be called normal." in text
    assert "normal range" not in report.text and "No anomalies detected." not in report.text


@pytest.mark.slow
def test_a_fully_compared_day_says_so_and_lists_its_anomalies_with_their_baseline() -> None:
    anomaly = {
        "insight_type": "anomaly",
        "severity": "warning",
        "store_id": "0002",
        "title": "Store 0002 net sales 32.0% below a usual Saturday",
        "description": "Net sales of $6,218.00 are 32.0% below its last 5 Saturdays, $9,144.00 (their median).",
    }
    assert (
        "No anomalies: all 2 stores that reported were compared with their history."
        in _coverage_day(["0001", "0002"], {}).text
    )

    text = " ".join(_coverage_day(["0001", "0002"], {}, anomalies=[anomaly]).text.split())
    assert "32.0% below its last 5 Saturdays, $9,144.00" in text
    assert "Not compared" not in text


def test_names_with_markup_are_escaped_in_the_html_and_kept_as_written_in_the_text() -> None:
    import datetime as dt

    from sales_platform.domain.daily_report import ReportInputs, build_daily_report

    day = dt.date(2025, 11, 27)
    product = "Fish & Chips <script>alert(1)</script>"
    report = build_daily_report(
        ReportInputs(
            day=day,
            company={"net_sales": Decimal("10.50"), "reported_stores": ["0001"]},
            stores=[{"store_id": "0001", "net_sales": Decimal("10.50")}],
            products=[{"sku": "SKU-<1>", "name": product, "units": 3, "net_revenue": Decimal("10.50"), "rank": 1}],
            insights=[
                {
                    "insight_type": "anomaly",
                    "severity": "warning",
                    "store_id": "0001",
                    "title": "Store 0001 sold no <b>Tea & Cake</b>",
                    "description": "Usually 5 a day.",
                }
            ],
            history=[(day, Decimal("10.50"))],
            expected_stores=["0001"],
        )
    )

    assert f"1. {product} (SKU-<1>): 3 units, $10.50" in report.text
    assert "Store 0001 sold no <b>Tea & Cake</b>" in report.text
    for html in (report.email_html, report.file_html):
        assert "<script>" not in html and "<b>Tea" not in html
        assert "<td>Fish &amp; Chips &lt;script&gt;alert(1)&lt;/script&gt;</td><td>SKU-&lt;1&gt;</td>" in html
        assert "<b>Store 0001 sold no &lt;b&gt;Tea &amp; Cake&lt;/b&gt;</b>" in html
