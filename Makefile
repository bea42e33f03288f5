# landaudit — set-up and everyday commands. A fresh machine needs only Python 3.11 and pip.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
YEAR   ?=

.PHONY: demo test lint bench census clean install

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make demo: synthetic department files for two years, then the pipeline on the newest year
demo: $(STAMP)
	$(BIN)/landaudit demo
	$(BIN)/landaudit ingest --year 2022
	$(BIN)/landaudit classify --year 2022 --as-of 2022-12-31
	$(BIN)/landaudit ingest --year 2023
	$(BIN)/landaudit classify --year 2023 --as-of 2023-12-31
	$(BIN)/landaudit export --year 2023 --by-township
	@echo "演示完成：部门报表在 data/raw/，处理结果在 data/processed/<年度>/，治理清单工作簿在 data/exports/2023/："
	@find data/exports/2023 -maxdepth 1 -name '*.xlsx' -printf '  %p\n'
	@echo "  data/exports/2023/镇街/（各镇街工作簿）  data/exports/2023/退回/（各部门退回清单）"
	@printf '%s\n' '接着：source .venv/bin/activate（Windows：.venv\Scripts\activate）让 landaudit 命令可用，再试 landaudit status、landaudit report --year 2023'

## make test: the whole suite; pytest's "no tests collected" (exit 5) is a failure too
test: $(STAMP)
	$(BIN)/python -m pytest

## make census YEAR=2023: the annual census (工业用地大普查): `landaudit census` (run --by-township, then report)
census: $(STAMP)
	@test -n "$(YEAR)" || (echo "用法：make census YEAR=2023" && exit 2)
	$(BIN)/landaudit census --year $(YEAR)

## make bench: stage timings against a plain-pandas baseline and the I/O floor (benchmarks/)
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

lint: $(STAMP)
	$(BIN)/ruff check src tests

clean:
	rm -rf data/processed/* data/exports $(VENV)
	git checkout -- data/processed/.gitkeep 2>/dev/null || true
