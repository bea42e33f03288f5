"""The 汇总 sheet (SPEC §9–§10): KPIs against targets, counts and 亩 per township × target and per
batch, 腾换空间, the rating distribution (规上 + 规下 + 未分组 = 合计), the row count of every list, and
two native charts; printed like the lists (workbook.page_setup: title, 单位 line, footer).
Every count here is computed from the same rows the lists hold, so they always agree."""

from __future__ import annotations

from landaudit.config import BATCHES, Config
from landaudit.export.cells import column_width, row_height, text_lines, write_text, write_value
from landaudit.export.lists import INT, MU, PCT, PER_MU, TEXT
from landaudit.export.workbook import UNIT_ROW, page_setup, write_title

RATINGS = ("A", "B", "C", "D", "不定等级")
FREED = ("拆除重建", "功能转型", "关停退出")
TOWNSHIP_HEADERS = (
    ("镇乡（街道）", TEXT), ("地块数", INT), ("面积（亩）", MU),
    ("亩均低效（宗）", INT), ("亩均低效（亩）", MU), ("低散乱污（宗）", INT), ("低散乱污（亩）", MU),
    ("集体工业用地（宗）", INT), ("集体工业用地（亩）", MU),
    *((f"{b}（宗）", INT) for b in BATCHES), ("腾换空间（亩）", MU),
    ("未整改重大较大隐患（条）", INT), ("逾期未整改隐患（条）", INT),
)


def _kpi_row(kpis: list[dict], scope: str) -> dict | None:
    for row in kpis:
        if row["scope"] == scope and row["township"] == "全部":
            return row
    return next((row for row in kpis if row["township"] == scope), None)


def _township_line(name: str, parcels: list, items: list[dict]) -> list:      # parcels: ParcelRow
    def count_area(flag: str) -> list:
        chosen = [p for p in parcels if getattr(p, flag)]
        return [len(chosen), sum(p.area_mu for p in chosen)]

    return [
        name, len(parcels), sum(p.area_mu for p in parcels),
        *count_area("low_efficiency"), *count_area("scattered_polluting"), *count_area("collective_problem"),
        *(sum(1 for p in parcels if p.batch == b) for b in BATCHES),
        sum(p.area_mu for p in parcels if p.batch in FREED),
        sum(1 for i in items if not i["closed"] and i["severity"] in ("较大", "重大")),
        sum(1 for i in items if i["overdue"]),
    ]


RATING_HEADERS = ("评价等级", "规上（宗）", "规下（宗）", "未分组（宗）", "合计（宗）")
RATING_GROUPS = ("规上", "规下")
KPI_HEADERS = ("指标", "当前值", "目标", "单位", "是否达标")


def rating_line(rating: str, parcels: list) -> list:
    """One row of the rating table: 规上, 规下, 未分组 (不参评 units, rated 不定等级, belong to no
    group), 合计 — the three add up to 合计."""
    rated = [p for p in parcels if p.rating == rating]
    above = sum(1 for p in rated if p.rating_group == RATING_GROUPS[0])
    below = sum(1 for p in rated if p.rating_group == RATING_GROUPS[1])
    return [rating, above, below, len(rated) - above - below, len(rated)]


def _widths() -> list[float]:
    """Column widths shared by the blocks of the sheet: the township table's (headers over three
    lines), widened where the KPI block needs room: value and target must never run together."""
    samples = {MU: [12345.67], INT: [1234], PER_MU: [123.45], PCT: [0.1234]}
    widths = [column_width(h, samples.get(k, []), header_lines=3) for h, k in TOWNSHIP_HEADERS]
    widths[0] = max(widths[0], 30.0)          # 指标 names (wrapped beyond), 镇乡（街道）, 清单 names
    widths[1] = max(widths[1], 14.0)          # 当前值
    widths[2] = max(widths[2], 20.0)          # 目标: "0（动态清零）", "≥ 15"
    widths[3] = max(widths[3], 14.0)          # 单位: 万元/亩; 未分组（宗）
    widths[4] = max(widths[4], 10.0)          # 是否达标
    return widths


def write_summary(book, ws, formats, *, data, config: Config, scope: str, towns: set[str],
                  lists: dict[str, list[dict]], counts: dict[str, int], sheets: dict[str, list[str]]) -> None:
    county, targets = config.settings.county.name, config.settings.kpi_targets
    parcels = [p for p in data.parcels if p.township in towns]
    items = [i for i in data.items if i["townships"] & towns]
    widths = _widths()
    first_page_columns = page_setup(ws, widths, as_of=data.as_of)
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    row = 0

    def text(r: int, c: int, value, fmt=None) -> None:
        write_text(ws, r, c, value, fmt, formats.quoted(fmt))

    def section(title: str) -> None:
        nonlocal row
        row += 1
        ws.write_string(row, 0, title, formats.section)
        row += 1

    def header(cells) -> None:
        nonlocal row
        lines = max(text_lines(value, widths[col]) for col, value in enumerate(cells))
        if lines > 1:
            ws.set_row(row, row_height(lines))
        for col, value in enumerate(cells):
            text(row, col, value, formats.header)
        row += 1

    write_title(ws, formats, f"{county}{data.year}年工业全域治理清单汇总（范围：{scope}）", widths, first_page_columns)
    row = UNIT_ROW + 1
    as_of = data.as_of.isoformat() if data.as_of else "—"
    text(row, 0, f"涉及镇乡（街道）{len(towns)} 个；隐患逾期判断日 {as_of}；数据：data/processed/{data.year}/", formats.note)
    row += 1

    section("一、目标指标（一、(二) 发展目标）")
    header(KPI_HEADERS)
    kpi = _kpi_row(data.kpis, scope) or {}
    # The scope's own figures from classify (kpis): the same counts as `report` and `track`, with the
    # open major items linked to no parcel in the total of a scope of every township (SPEC §10 rev. 2).
    open_major = kpi.get("open_major_items", sum(1 for i in items if not i["closed"] and i["severity"] in ("较大", "重大")))
    overdue = kpi.get("overdue_items", sum(1 for i in items if i["overdue"]))
    unlinked_major = kpi.get("open_major_unlinked") or 0
    freed = sum(p.area_mu for p in parcels if p.batch in FREED)
    lines = [
        ("规上工业亩均税收", kpi.get("above_scale_tax_per_mu"), PER_MU, f"≥ {targets.above_scale_tax_per_mu:g}", "万元/亩",
         None if kpi.get("above_scale_tax_per_mu") is None else kpi["above_scale_tax_per_mu"] >= targets.above_scale_tax_per_mu),
        ("亩均增加值增速（规上）", kpi.get("va_per_mu_growth"), PCT, f"≥ {targets.va_per_mu_growth:.0%}", "",
         None if kpi.get("va_per_mu_growth") is None else kpi["va_per_mu_growth"] >= targets.va_per_mu_growth),
        ("未整改重大、较大问题隐患", open_major, INT, f"{targets.open_major_items}（动态清零）", "条",
         open_major <= targets.open_major_items),
        *([("　其中未关联地块", unlinked_major, INT, "—", "条", None)] if unlinked_major else []),
        ("逾期未整改问题隐患", overdue, INT, "—", "条", None),
        ("腾换空间（拆除重建、功能转型、关停退出）", freed, MU, "—", "亩", None),
    ]
    # A table with borders: the value right-aligned in its own column, the target centred in the next,
    # so "50" and "0（动态清零）" never read as "500".
    name_format = formats.of(TEXT, wrap=True, ruled=True)
    value_formats = {kind: formats.of(kind, ruled=True, align="right") for kind in (PER_MU, PCT, INT, MU)}
    missing_format = formats.of(TEXT, ruled=True, align="right", font_color="#595959")
    centred = formats.of(TEXT, ruled=True, align="center")
    for name, value, kind, target, unit, ok in lines:
        if text_lines(name, widths[0]) > 1:
            ws.set_row(row, row_height(text_lines(name, widths[0])))
        text(row, 0, name, name_format)
        if value is None:
            ws.write_string(row, 1, "无数据", missing_format)
        else:
            write_value(ws, row, 1, value, value_formats[kind])
        text(row, 2, target, centred)
        text(row, 3, unit, centred)
        if ok is None:
            ws.write_blank(row, 4, None, centred)
        else:
            ws.write_string(row, 4, "达标" if ok else "未达标", formats.good if ok else formats.bad)
        row += 1

    section("二、各镇乡（街道）治理对象和四个一批")
    header([h for h, _ in TOWNSHIP_HEADERS])
    kinds = [formats.of(k, ruled=True) for _, k in TOWNSHIP_HEADERS]
    total_kinds = [formats.of(k, ruled=True, bold=True) for _, k in TOWNSHIP_HEADERS]
    first_town_row = row
    by_town: dict[str, list[dict]] = {}
    items_by_town: dict[str, list[dict]] = {}
    for p in parcels:
        by_town.setdefault(p.township, []).append(p)
    for i in items:
        for town in i["townships"]:
            items_by_town.setdefault(town, []).append(i)
    for name in sorted(by_town):
        for col, value in enumerate(_township_line(name, by_town[name], items_by_town.get(name, []))):
            write_value(ws, row, col, value, kinds[col], formats.quoted(kinds[col]))
        row += 1
    last_town_row = row - 1
    for col, value in enumerate(_township_line("合计", parcels, items)):
        write_value(ws, row, col, value, total_kinds[col])
    row += 1

    section("三、四个一批")
    header(["处置方式", "地块数", "面积（亩）"])
    for batch in BATCHES:
        chosen = [p for p in parcels if p.batch == batch]
        text(row, 0, batch, kinds[0])
        ws.write_number(row, 1, len(chosen), formats.of(INT, ruled=True))
        ws.write_number(row, 2, sum(p.area_mu for p in chosen), formats.of(MU, ruled=True))
        row += 1

    section("四、亩均效益综合评价等级分布")
    header(RATING_HEADERS)
    first_rating_row = row
    for rating in RATINGS:
        line = rating_line(rating, parcels)
        text(row, 0, line[0], kinds[0])
        for col, value in enumerate(line[1:], start=1):
            ws.write_number(row, col, value, formats.of(INT, ruled=True))
        row += 1
    last_rating_row = row - 1
    text(row, 0, "注：不定等级为不参评单位，不分规上、规下，计入“未分组”。", formats.note)
    row += 1

    section("五、各清单行数")
    header(["清单", "行数", "所在工作表"])
    for name, n in counts.items():
        text(row, 0, name, kinds[0])
        ws.write_number(row, 1, n, formats.of(INT, ruled=True))
        parts = sheets.get(name, [name])
        note = "、".join(parts) + (f"（超过单表行数上限，分为 {len(parts)} 个工作表）" if len(parts) > 1 else "")
        text(row, 2, note)
        row += 1

    # the charts start a page of their own, right after the last table row: never cut across a page
    # break, and no page holding only the blank row before them
    ws.set_h_pagebreaks([row])
    _charts(book, ws, row + 1, first_town_row, last_town_row, first_rating_row, last_rating_row)
    ws.freeze_panes(UNIT_ROW + 1, 0)


def _charts(book, ws, at_row: int, first_town_row: int, last_town_row: int, first_rating_row: int,
            last_rating_row: int) -> None:
    """Native charts, one under the other (both stay on the printed page width): parcels per batch
    by township (stacked), and the rating distribution stacked by group, so every rating has a bar
    as tall as its 合计."""
    if last_town_row >= first_town_row:
        first_batch_col = [h for h, _ in TOWNSHIP_HEADERS].index(f"{BATCHES[0]}（宗）")
        series = [(batch, first_batch_col + offset) for offset, batch in enumerate(BATCHES)]
        n_towns = last_town_row - first_town_row + 1
        size = (max(760, 200 + 56 * n_towns), 400)
        chart = _column_chart(book, ws, series, first_town_row, last_town_row, "各镇乡（街道）四个一批地块数",
                              stacked=True, size=size, rotate_labels=n_towns > 8)
        ws.insert_chart(at_row, 0, chart)
        at_row += -(-size[1] // 20) + 2                    # 20 px rows
    groups = [(label.removesuffix("（宗）"), col) for col, label in enumerate(RATING_HEADERS[1:4], start=1)]
    chart = _column_chart(book, ws, groups, first_rating_row, last_rating_row,
                          "亩均效益综合评价等级分布", stacked=True, size=(640, 360), labels=True)
    ws.insert_chart(at_row, 0, chart)


def _column_chart(book, ws, series: list[tuple[str, int]], first_row: int, last_row: int, title: str,
                  *, stacked: bool, size: tuple[int, int], rotate_labels: bool = False, labels: bool = False):
    """A column chart over rows first_row..last_row of the 汇总: categories in column A, one
    series per (name, column)."""
    name = ws.get_name()
    font = {"name": "宋体", "size": 10}         # ≥ 9 pt printed at the sheet's ≥ 90 % scale
    chart = book.add_chart({"type": "column", **({"subtype": "stacked"} if stacked else {})})
    for label, col in series:
        chart.add_series({
            "name": label,
            "categories": [name, first_row, 0, last_row, 0],
            "values": [name, first_row, col, last_row, col],
            "gap": 80,
            # the counts on the bars (zeros left out), so a small group such as 不定等级 still reads
            **({"data_labels": {"value": True, "num_format": "#,##0;;;", "font": font}} if labels else {}),
        })
    chart.set_title({"name": title, "name_font": {**font, "size": 12, "bold": True}})
    chart.set_x_axis({"num_font": {**font, **({"rotation": -45} if rotate_labels else {})}})
    chart.set_y_axis({"name": "地块数（宗）", "name_font": font, "num_font": font,
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_legend({"position": "bottom", "font": font})
    chart.set_size({"width": size[0], "height": size[1]})
    return chart
