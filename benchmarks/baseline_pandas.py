"""The baseline: the plain pandas script an analyst would write for the same job.

    python benchmarks/baseline_pandas.py RAW_YEAR_DIR OUT_DIR [--year 2023]

Reads one year's department files (``data/raw/<year>/``) with ``pd.read_excel`` and its default
engine for .xlsx (openpyxl), skipping the title rows by hand-coded ``skiprows`` as an analyst
does after opening each file once; merges enterprises onto parcels by parcel code, else by
credit code; flags 亩均低效 (tax per 亩 < 5 万元/亩, idle parcels count tax 0) and open
hazards (重大/较大 not closed, or 整改不合格); assigns a simple 四个一批; and writes the core lists
with ``DataFrame.to_excel`` through openpyxl.

Deliberately *not* done (landaudit does it; an analyst's first script does not): per-row
validation and reject reports, unit detection, name-based linking, collective-land rules,
A/B/C/D ratings, KPIs, per-department send-back files, formats, formula neutralisation.
So the baseline writes fewer lists (4 sheets) than landaudit (13+ sheets and send-back files).

The one file pandas cannot read as shipped is the 消防 ".xls" (really an HTML table):
``pd.read_excel`` needs xlrd and ``pd.read_html`` needs lxml or bs4, neither is installed, so
it is read with the standard library's ``html.parser`` (what the analyst would end up doing).

Prints one JSON line with the phase timings and row counts on stdout.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd

T0 = time.perf_counter()

LAND_COLS = [
    "序号", "地块编码", "所属镇街", "所属园区", "坐落", "权利人", "权利人统一社会信用代码",
    "用地面积", "土地权属", "土地用途", "建筑面积", "容积率", "建成年份", "建筑质量",
    "是否符合规划", "是否有合法用地手续", "所属村集体", "是否管理松散",
]
ENT_COLS = [
    "序号", "统一社会信用代码", "企业名称", "所在地块编码", "所属镇街", "是否规上", "税收",
    "工业增加值", "营业收入", "职工人数", "综合能耗", "研发经费", "排放当量", "是否落后产能",
    "是否符合产业导向", "行业代码", "不参评原因",
]
SAFETY_COLS = ["序号", "编号", "企业名称", "统一社会信用代码", "地块编码", "问题描述", "等级",
               "发现日期", "整改期限", "整改状态", "整改完成日期"]
VIOLATION_COLS = ["序号", "编号", "企业名称", "地块编码", "问题类别", "问题描述", "等级",
                  "发现日期", "整改期限", "整改状态"]
ENV_COLS = ["编号", "企业名称", "统一社会信用代码", "地块编码", "问题描述", "等级", "发现日期",
            "整改期限", "整改状态", "销号日期", "验收结果"]
FIRE_COLS = ["编号", "企业名称", "地块编码", "问题描述", "等级", "发现日期", "整改期限", "整改状态"]

NO = {"否", "×", "不符合", "无"}
SERIOUS = {"重大", "重大事故隐患", "较大"}
CLOSED = {"已整改", "已销号"}
POOR = {"差", "C级", "D级"}
CODE = re.compile(r"^330681\d{6}[A-Z]{2}\d{5}")


def find(raw: Path, pattern: str) -> Path | None:
    return next(iter(sorted(raw.rglob(pattern))), None)


def read_table(path: Path, skiprows: int, names: list[str], **kw) -> pd.DataFrame:
    """read_excel with today's default .xlsx engine, openpyxl.

    pandas 3.1 warns that the default will become calamine; the engine is named here so the
    baseline stays what it is meant to be (the script most analysts run today). A department
    over 1,048,576 rows sends CSV.
    """
    if path.suffix == ".csv":
        return pd.read_csv(path, skiprows=skiprows, header=None, names=names, dtype=str, **kw)
    return pd.read_excel(path, skiprows=skiprows, header=None, names=names, dtype=str,
                         engine="openpyxl")


def to_number(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.str.replace(",", "", regex=False), errors="coerce")


def clean_code(s: pd.Series) -> pd.Series:
    return s.str.replace(" ", "", regex=False).str.upper().str[:19]


def data_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Drop the 合计 / 填表人 / 注 lines and blank rows: keep rows whose 序号 is a number."""
    return df[pd.to_numeric(df["序号"], errors="coerce").notna()].copy()


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def read_html_xls(path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("gbk")
    parser = _Tables()
    parser.feed(text)
    rows = [r for r in parser.rows[2:] if len(r) == len(FIRE_COLS)]  # title and header rows
    return pd.DataFrame(rows, columns=FIRE_COLS)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("raw", type=Path, help="data/raw/<year>/")
    ap.add_argument("out", type=Path)
    ap.add_argument("--year", type=int, default=2023)
    args = ap.parse_args()
    raw, out, year = args.raw, args.out, args.year
    times: dict[str, float] = {}

    # ---- read ------------------------------------------------------------------------------
    t = time.perf_counter()
    land = read_table(find(raw, "工业用地底数_*.*"), 4, LAND_COLS)
    ent = read_table(find(raw, "亩均效益_*.*"), 2, ENT_COLS)
    safety = read_table(find(raw, "安全生产隐患排查台账_*.*"), 3, SAFETY_COLS)
    violations = read_table(find(raw, "违法建设台账_*.*"), 2, VIOLATION_COLS)
    env = pd.read_csv(find(raw, "环保问题隐患台账_*.csv"), encoding="gbk", skiprows=2,
                      header=None, names=ENV_COLS, dtype=str)
    fire = read_html_xls(find(raw, "消防隐患清单_*.xls"))
    times["read_s"] = time.perf_counter() - t

    # ---- clean and merge -------------------------------------------------------------------
    t = time.perf_counter()
    land = data_rows(land)
    land["地块编码"] = clean_code(land["地块编码"])
    land["用地面积"] = to_number(land["用地面积"])
    land = land[land["地块编码"].str.match(CODE, na=False) & (land["用地面积"] > 0)]
    land = land.drop_duplicates("地块编码")
    land["权利人统一社会信用代码"] = clean_code(land["权利人统一社会信用代码"])
    land["建成年份"] = pd.to_numeric(land["建成年份"], errors="coerce")

    ent = data_rows(ent)
    ent["统一社会信用代码"] = ent["统一社会信用代码"].str.replace(" ", "", regex=False)
    ent["税收"] = to_number(ent["税收"])
    ent["工业增加值"] = to_number(ent["工业增加值"])
    ent["落后产能"] = ent["是否落后产能"].eq("是")
    ent["导向不符"] = ent["是否符合产业导向"].isin(NO)
    ent["不参评"] = ent["不参评原因"].notna()
    ent["企业序号"] = np.arange(len(ent))

    # enterprise → parcels: its listed parcel codes, else the land rows with its credit code
    by_code = ent.assign(地块编码=ent["所在地块编码"].str.split(r"[、；]", regex=True))
    by_code = by_code.explode("地块编码").dropna(subset=["地块编码"])
    by_code["地块编码"] = clean_code(by_code["地块编码"])
    # (pandas matches NaN keys with each other, so rows without a credit code are left out)
    by_credit = ent[ent["所在地块编码"].isna() & ent["统一社会信用代码"].notna()].merge(
        land.loc[land["权利人统一社会信用代码"].notna(), ["地块编码", "权利人统一社会信用代码"]],
        left_on="统一社会信用代码", right_on="权利人统一社会信用代码")
    links = pd.concat([by_code, by_credit], ignore_index=True)
    links = links.merge(land[["地块编码", "用地面积"]], on="地块编码")
    # an enterprise on several parcels contributes in proportion to area
    links["份额"] = links["用地面积"] / links.groupby("企业序号")["用地面积"].transform("sum")
    links["分摊税收"] = links["税收"] * links["份额"]
    links["分摊增加值"] = links["工业增加值"] * links["份额"]
    per_parcel = links.groupby("地块编码").agg(
        企业名称=("企业名称", lambda s: "；".join(s.dropna())),
        统一社会信用代码=("统一社会信用代码", lambda s: "；".join(s.dropna())),
        税收=("分摊税收", "sum"),
        工业增加值=("分摊增加值", "sum"),
        落后产能=("落后产能", "any"),
        导向不符=("导向不符", "any"),
        全部不参评=("不参评", "all"),
    ).reset_index()

    parcels = land.merge(per_parcel, on="地块编码", how="left")
    parcels["税收"] = parcels["税收"].fillna(0.0)  # idle parcel: tax 0
    parcels["落后产能"] = parcels["落后产能"].fillna(False).astype(bool)
    parcels["导向不符"] = parcels["导向不符"].fillna(False).astype(bool)
    parcels["全部不参评"] = parcels["全部不参评"].fillna(False).astype(bool)
    parcels["亩均税收"] = (parcels["税收"] / parcels["用地面积"]).round(2)
    parcels["亩均低效"] = (parcels["亩均税收"] < 5) & ~parcels["全部不参评"]

    # ledgers → open hazards, linked by parcel code else credit code
    items = pd.concat([
        safety.assign(类别="安全生产"),
        violations.assign(类别="违法建设"),
        env.assign(类别="环保"),
        fire.assign(类别="消防"),
    ], ignore_index=True)
    items = items[items["编号"].notna() & items["等级"].notna()].copy()
    items["地块编码"] = clean_code(items["地块编码"])
    items["统一社会信用代码"] = items["统一社会信用代码"].str.replace(" ", "", regex=False)
    failed = items["整改状态"].eq("整改不合格") | items["验收结果"].eq("不合格")
    items["整改不合格"] = failed
    items["未销号隐患"] = (items["等级"].isin(SERIOUS) & ~items["整改状态"].isin(CLOSED)) | failed
    code_map = links[["统一社会信用代码", "地块编码"]].dropna().drop_duplicates("统一社会信用代码")
    via_credit = items[["统一社会信用代码"]].merge(code_map, on="统一社会信用代码", how="left")
    items["地块编码"] = items["地块编码"].fillna(pd.Series(via_credit["地块编码"].values,
                                                      index=items.index))
    hazards = items[items["未销号隐患"] & items["地块编码"].notna()]
    hazards = hazards.merge(parcels[["地块编码", "所属镇街", "所属园区"]], on="地块编码")
    flags = hazards.groupby("地块编码").agg(隐患数=("编号", "count"),
                                          整改不合格=("整改不合格", "any")).reset_index()
    parcels = parcels.merge(flags, on="地块编码", how="left")
    parcels["隐患数"] = parcels["隐患数"].fillna(0).astype(int)
    parcels["整改不合格"] = parcels["整改不合格"].fillna(False).astype(bool)
    parcels["存在隐患"] = parcels["隐患数"] > 0

    # 四个一批, first matching rule
    in_scope = parcels["亩均低效"] | parcels["存在隐患"] | parcels["落后产能"]
    poor = parcels["建筑质量"].isin(POOR) | ((year - parcels["建成年份"]) > 30)
    parcels["四个一批"] = np.select(
        [~in_scope,
         parcels["落后产能"] | parcels["整改不合格"],
         parcels["是否符合规划"].isin(NO) | parcels["导向不符"],
         parcels["亩均低效"] & poor],
        ["", "关停退出", "功能转型", "拆除重建"], default="整治提升")
    times["compute_s"] = time.perf_counter() - t

    # ---- write -----------------------------------------------------------------------------
    t = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    show = ["地块编码", "所属镇街", "所属园区", "权利人", "企业名称", "统一社会信用代码",
            "用地面积", "税收", "亩均税收", "亩均低效", "存在隐患", "四个一批"]
    sheets = {
        "工业用地底数清单": parcels[show],
        "亩均低效治理清单": parcels.loc[parcels["亩均低效"], show],
        "隐患治理清单": hazards[["类别", "编号", "地块编码", "所属镇街", "所属园区", "企业名称",
                            "问题描述", "等级", "整改期限", "整改状态"]],
        "四个一批治理方案": parcels.loc[in_scope, show],
    }
    limit = 1_048_575  # the analyst learns the sheet row limit the hard way
    with pd.ExcelWriter(out / f"治理清单_{year}.xlsx", engine="openpyxl") as writer:
        for name, df in sheets.items():
            for part, start in enumerate(range(0, max(len(df), 1), limit)):
                sheet = name if part == 0 else f"{name}_{part + 1}"
                df.iloc[start:start + limit].to_excel(writer, sheet_name=sheet, index=False)
    times["write_s"] = time.perf_counter() - t
    times["total_in_process_s"] = time.perf_counter() - T0

    print(json.dumps({
        **{k: round(v, 3) for k, v in times.items()},
        "rows": {"land": len(land), "enterprise": len(ent), "links": len(links),
                 "items": len(items)},
        "lists": {name: len(df) for name, df in sheets.items()},
        "batches": parcels.loc[in_scope, "四个一批"].value_counts().to_dict(),
        "engines": {"read": "openpyxl", "write": "openpyxl"},
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
