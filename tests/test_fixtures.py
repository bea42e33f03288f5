"""Ingest of the real messy files in tests/fixtures/ against the hand-computed expectations of
tests/fixtures/README.md (SPEC §2–§4, §14): formats, encodings, headers, counts, rejects, values."""

from __future__ import annotations

from datetime import date

import pyarrow.parquet as pq
import pytest

from landaudit.ingest import ingest

from conftest import FIXTURES, copy_fixture, sheet_entry

# file: (format, dataset, header_row, total, accepted, rejected, skipped kinds, rejected rows)
COUNTED = {
    "land_title_rows_merged_header.xlsx": ("xlsx", "land", 4, 11, 7, 1, {"total": 1, "blank": 1, "note": 1}, {9}),
    "land_area_sqm_units.xlsx": ("xlsx", "land", 1, 7, 5, 2, {}, {6, 7}),
    "land_area_hectare.csv": ("csv", "land", 1, 7, 5, 1, {"blank": 1}, {6}),
    "enterprise_gbk.csv": ("csv", "enterprise", 1, 6, 5, 1, {}, {6}),
    "enterprise_semicolon_bom.csv": ("csv", "enterprise", 1, 6, 5, 1, {}, {6}),
    "ledger_html_disguised.xls": ("html", "ledger", 2, 6, 4, 1, {"blank": 1}, {6}),
    "ledger_xml_spreadsheet.xls": ("xml2003", "ledger", 2, 7, 4, 1, {"blank": 1, "duplicate": 1}, {9}),
    "land_legacy_biff.xls": ("xls", "land", 2, 5, 5, 0, {}, set()),
    "enterprise_legacy.ods": ("ods", "enterprise", 1, 6, 5, 0, {"total": 1}, set()),
    "ledger_dates_all_forms.xlsx": ("xlsx", "ledger", 1, 8, 8, 0, {}, set()),
    # row 7's parcel code is a number cell: rejected (a corrupted required key), see docs/decisions.md
    "land_codes_messy.xlsx": ("xlsx", "land", 1, 11, 7, 2, {"duplicate": 1, "blank": 1}, {7, 10}),
    "land_yes_no_forms.xlsx": ("xlsx", "land", 1, 8, 8, 0, {}, set()),
    "header_only.xlsx": ("xlsx", "land", 1, 0, 0, 0, {}, set()),
    "ledger_utf16.csv": ("csv", "ledger", 1, 5, 4, 1, {}, {5}),
    "land_repeated_header_column_numbers.xlsx": (
        "xlsx", "land", 2, 13, 8, 1, {"column_numbers": 2, "repeated_header": 1, "total": 1}, {12}),
}
ERRORS = {
    "not_a_spreadsheet.xlsx": "not_spreadsheet",
    "empty.xlsx": "file_empty",
    "corrupt_truncated.xlsx": "file_corrupt",
    "instructions_only.xlsx": "unknown_dataset",
    "password_protected.xlsx": "file_encrypted",
}


@pytest.fixture(scope="module")
def all_fixtures(tmp_path_factory):
    """Every fixture ingested together as one year (no keys repeat across fixtures)."""
    from landaudit.workspace import Workspace

    root = tmp_path_factory.mktemp("fixtures_ws")
    ws = Workspace.at(root)
    for path in sorted(FIXTURES.iterdir()):
        if path.suffix in (".xlsx", ".xls", ".ods", ".csv"):
            copy_fixture(ws, path.name)
    result = ingest(ws, year=2023)
    tables = {name: pq.read_table(ws.processed_year(2023) / f"{name}.parquet").to_pylist()
              for name in ("land", "enterprise", "ledger", "rejects", "quality")}
    return result, tables


@pytest.mark.parametrize("name", sorted(COUNTED))
def test_counts_of_each_fixture(all_fixtures, name):
    result, tables = all_fixtures
    fmt, dataset, header_row, total, accepted, rejected, skipped, rejected_rows = COUNTED[name]
    e = sheet_entry(result, name)
    assert (e.format, e.dataset, e.header_row) == (fmt, dataset, header_row)
    assert (e.rows_total, e.rows_accepted, e.rows_rejected) == (total, accepted, rejected)
    assert {k: v for k, v in e.skipped.items() if v} == skipped
    assert e.rows_total == e.rows_accepted + e.rows_rejected + e.rows_skipped
    got_rows = {r["row"] for r in tables["rejects"] if r["file"].endswith(name)}
    assert got_rows == rejected_rows
    assert all(r["message"] and r["reason_code"] for r in tables["rejects"] if r["file"].endswith(name))


@pytest.mark.parametrize(("name", "code"), sorted(ERRORS.items()))
def test_unreadable_files_are_reported_by_name(all_fixtures, name, code):
    result, tables = all_fixtures
    e = sheet_entry(result, name)
    assert e.error["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in e.error["message"])
    assert any(r["file"].endswith(name) and r["reason_code"] == code for r in tables["rejects"])


def test_totals_add_up_over_all_fixtures(all_fixtures):
    result, _ = all_fixtures
    t = result.totals
    assert (t["rows_total"], t["rows_accepted"], t["rows_rejected"], t["rows_skipped"]) == (106, 80, 12, 14)
    assert t["errors"] == 5


def _rows(tables, dataset, name):
    return [r for r in tables[dataset] if r["source_file"].endswith(name)]


def test_merged_title_and_two_row_header_values(all_fixtures):
    _, tables = all_fixtures
    areas = [r["area_mu"] for r in _rows(tables, "land", "land_title_rows_merged_header.xlsx")]
    assert areas == pytest.approx([12.35, 8.6, 133.8, 5.42, 6.75, 20.0, 2.88])


def test_square_metres_and_hectares_convert_to_mu(all_fixtures):
    _, tables = all_fixtures
    sqm = _rows(tables, "land", "land_area_sqm_units.xlsx")
    assert [r["area_mu"] for r in sqm] == pytest.approx([10.0, 15.0, 3.0, 20.0, 40.0], abs=1e-3)
    assert [r["plot_ratio"] for r in sqm] == [1.2, 1.5, 0.6, None, 1.5]
    ha = _rows(tables, "land", "land_area_hectare.csv")
    assert [r["area_mu"] for r in ha] == pytest.approx([18.0, 7.5, 30.0, 5.25, 1.2])


def test_gbk_csv_money_units_and_number_forms(all_fixtures):
    result, tables = all_fixtures
    assert sheet_entry(result, "enterprise_gbk.csv").encoding == "gb18030"
    rows = _rows(tables, "enterprise", "enterprise_gbk.csv")
    assert [r["tax"] for r in rows] == [123.5, 1234.5, None, 8.6, 3.2]
    assert [r["value_added"] for r in rows] == pytest.approx([3500, 1234.5678, 5600, 250, 180])
    assert [r["employees"] for r in rows] == [120, 45, 300, 30, None]
    assert [r["credit_code_valid"] for r in rows][3] is False
    assert rows[4]["name_key"] == "诸暨市(枫桥)精工机械厂"


def test_semicolon_csv_with_bom_splits_parcel_codes(all_fixtures):
    result, tables = all_fixtures
    assert sheet_entry(result, "enterprise_semicolon_bom.csv").encoding == "utf-8-sig"
    rows = _rows(tables, "enterprise", "enterprise_semicolon_bom.csv")
    assert rows[0]["parcel_codes"] == ["330681001002GB00012", "330681001002GB00013", "330681003001JA00007"]
    assert rows[2]["parcel_codes"] == ["330681003001JA00008", "330681003001JA00009"]   # quoted newline
    assert rows[4]["source_row"] == 7                                                   # record, not line
    unlocatable = [q for q in tables["quality"] if q["reason_code"] == "enterprise_unlocatable"]
    assert [(q["file"].rsplit("/", 1)[-1], q["row"]) for q in unlocatable] == [("enterprise_semicolon_bom.csv", 5)]


def test_html_and_xml_spreadsheets_disguised_as_xls(all_fixtures):
    _, tables = all_fixtures
    fire = _rows(tables, "ledger", "ledger_html_disguised.xls")
    assert [r["category"] for r in fire] == ["消防"] * 4
    assert [r["severity"] for r in fire] == ["较大", "一般", "重大", "一般"]
    assert fire[1]["name"] == "诸暨市H&M包装材料有限公司"
    safety = _rows(tables, "ledger", "ledger_xml_spreadsheet.xls")
    assert [r["category"] for r in safety] == ["安全生产"] * 4
    assert [r["found_date"] for r in safety] == [date(2023, 4, 3), date(2023, 4, 10), date(2023, 4, 12), date(2023, 4, 18)]
    assert [r["acceptance"] for r in safety] == ["合格", None, "不合格", "合格"]


def test_legacy_biff_xls_and_ods(all_fixtures):
    _, tables = all_fixtures
    biff = _rows(tables, "land", "land_legacy_biff.xls")
    assert [r["area_mu"] for r in biff] == pytest.approx([15.6, 25.6, 4.25, 9.9, 31.05])
    assert [r["building_year"] for r in biff] == [2008, 1998, 1990, 2012, 2001]
    ods = _rows(tables, "enterprise", "enterprise_legacy.ods")
    assert [r["tax"] for r in ods] == [320.5, 95.2, 12.3, 8, 56.7]
    assert [r["above_scale"] for r in ods] == [True, True, False, False, True]
    assert [r["exempt_reason"] for r in ods] == [None, None, None, "新投产企业", None]


def test_every_date_form_in_one_sheet(all_fixtures):
    _, tables = all_fixtures
    rows = _rows(tables, "ledger", "ledger_dates_all_forms.xlsx")
    assert [r["found_date"] for r in rows] == [date(2023, 5, 1)] * 8
    assert [r["deadline"] for r in rows] == [date(2023, 6, 30)] * 7 + [None]
    warning = [q for q in tables["quality"] if q["file"].endswith("ledger_dates_all_forms.xlsx")]
    assert [(q["row"], q["column"], q["value"], q["reason_code"]) for q in warning] == [
        (9, "整改期限", "五月初", "invalid_date")]


def test_messy_codes_normalise_and_the_number_code_is_rejected(all_fixtures):
    _, tables = all_fixtures
    codes = [r["parcel_code"] for r in _rows(tables, "land", "land_codes_messy.xlsx")]
    assert codes == ["330681001002GB00021", "330681001002GB00022", "330681001002GB00023", "330681001002GB00024",
                     "ZJ20210087", "330681003001JC00031", "330681003001JC00032"]
    reasons = {r["row"]: r["reason_code"] for r in tables["rejects"] if r["file"].endswith("land_codes_messy.xlsx")}
    assert reasons == {7: "code_stored_as_number", 10: "duplicate_conflict"}
    nonstandard = [q["value"] for q in tables["quality"] if q["reason_code"] == "parcel_code_nonstandard"]
    assert "ZJ20210087" in nonstandard


def test_yes_no_forms(all_fixtures):
    _, tables = all_fixtures
    rows = _rows(tables, "land", "land_yes_no_forms.xlsx")
    assert [r["conforms_to_plan"] for r in rows] == [True] * 6 + [None, False]
    assert [r["legal_procedures"] for r in rows] == [False] * 6 + [True, None]


def test_each_good_file_ingests_the_same_alone_as_beside_bad_files(workspace, all_fixtures):
    together, _ = all_fixtures
    copy_fixture(workspace, "land_legacy_biff.xls")
    alone = ingest(workspace, year=2023)
    a, b = sheet_entry(alone, "land_legacy_biff.xls"), sheet_entry(together, "land_legacy_biff.xls")
    assert (a.rows_total, a.rows_accepted, a.rows_rejected, a.rows_skipped) == \
        (b.rows_total, b.rows_accepted, b.rows_rejected, b.rows_skipped)


@pytest.mark.parametrize("start", ["forkserver", "spawn"])
def test_files_read_in_worker_processes_give_the_same_result(tmp_path, all_fixtures, monkeypatch, start):
    """Big files are read in worker processes (ingest.isolate_file_mb; forked from a forkserver
    where the OS has one, spawned elsewhere, never forked from the ingesting process:
    ingest/workers.py); with the threshold at 0 every fixture goes through them, and the report,
    rows and findings equal the default run, whichever start method is used."""
    import multiprocessing

    from landaudit.config import default_config_text
    from landaudit.workspace import Workspace

    if start not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{start} is not available here")
    monkeypatch.setenv("LANDAUDIT_WORKER_START", start)

    together, tables = all_fixtures
    ws = Workspace.at(tmp_path)
    for path in sorted(FIXTURES.iterdir()):
        if path.suffix in (".xlsx", ".xls", ".ods", ".csv"):
            copy_fixture(ws, path.name)
    (tmp_path / "configs").mkdir()
    text = default_config_text("landaudit.toml").replace("isolate_file_mb = 1 ", "isolate_file_mb = 0 ")
    assert "isolate_file_mb = 0 " in text
    (tmp_path / "configs" / "landaudit.toml").write_text(text, encoding="utf-8")
    (tmp_path / "configs" / "datasets.toml").write_text(default_config_text("datasets.toml"), encoding="utf-8")
    isolated = ingest(ws, year=2023)
    assert [e.to_dict() for e in isolated.entries] == [e.to_dict() for e in together.entries]
    assert isolated.totals == together.totals
    for name in ("land", "enterprise", "ledger"):
        assert pq.read_table(ws.processed_year(2023) / f"{name}.parquet").to_pylist() == tables[name]
    assert sorted(f.to_dict().items().__repr__() for f in isolated.findings) == \
        sorted(f.to_dict().items().__repr__() for f in together.findings)


def test_streamed_workbook_rows_equal_the_whole_sheet_read_at_once(tmp_path):
    """Workbook sheets are streamed (`iter_rows`, padded to column A) instead of converted whole
    (`to_python`) to save memory at 1M parcels (issue 7): every fixture sheet gives the same rows,
    and so does a sheet whose used range starts at C3, and an empty one."""
    import python_calamine as calamine
    import xlsxwriter

    from landaudit.ingest.read import _sheet_rows

    offset = tmp_path / "offset.xlsx"
    book = xlsxwriter.Workbook(str(offset))
    sheet = book.add_worksheet("偏移")
    sheet.write(2, 2, "地块编码")
    sheet.write(3, 4, 12.5)
    sheet.write(5, 2, "330681001001GB00001")
    book.add_worksheet("空表")
    book.close()
    padded = list(_sheet_rows(calamine.CalamineWorkbook.from_path(str(offset)).get_sheet_by_name("偏移")))
    assert padded[2][2] == "地块编码" and padded[3][4] == 12.5 and len(padded) == 6 and len(padded[0]) == 5

    books = [offset] + [p for p in sorted(FIXTURES.iterdir()) if p.suffix in (".xlsx", ".xls", ".ods")]
    compared = 0
    for path in books:
        try:
            book = calamine.CalamineWorkbook.from_path(str(path))
        except Exception:          # the corrupt and encrypted fixtures
            continue
        for name in book.sheet_names:
            try:
                whole = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            except Exception:
                continue
            assert list(_sheet_rows(book.get_sheet_by_name(name))) == whole, (path.name, name)
            compared += 1
    assert compared >= 12


def test_ledger_status_state_category_and_codes_of_every_fixture(all_fixtures):
    """SPEC §3–§4 (rev. 2) on the real files: the status text is kept, its state derived; every
    item's category is decided by its 问题类别 or names (no 未定); codes as a list and joined text."""
    _, tables = all_fixtures
    ledger = tables["ledger"]
    state = {"未整改": "open", "整改中": "open", "已整改": "closed", "已销号": "closed", "整改不合格": "failed"}
    assert {r["status"] for r in ledger} <= set(state)
    assert all(r["status_state"] == state[r["status"]] for r in ledger)
    assert [r["category"] for r in ledger].count("未定") == 0
    assert all(r["parcel_code"] == ("、".join(r["parcel_codes"]) if r["parcel_codes"] else None) for r in ledger)
    fire = _rows(tables, "ledger", "ledger_html_disguised.xls")
    assert [r["parcel_codes"] for r in fire] == [["330681001002GB00012"], None, None, ["330681002001GB00031"]]
    codes = {q["reason_code"] for q in tables["quality"]}
    assert not codes & {"status_unrecognised", "ledger_category_undecided", "ledger_category_unknown"}
