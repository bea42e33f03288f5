# landaudit — set-up and everyday commands. A fresh machine needs only Python 3.11 and pip.
# Everything is installed from the lock files, with their hashes (docs/install.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
YEAR   ?=

LOCK     := requirements.lock
DEV_LOCK := requirements-dev.lock
MIN_REQS := requirements-min.txt
MIN_VENV := .venv-min
# uv resolves the lock files (`make lock`) and nothing else; installing needs only pip.
UV_VERSION := 0.13.9
UV_VENV    := .venv-lock
UV         := $(UV_VENV)/bin/uv
UV_COMPILE := $(UV) pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
              --quiet --custom-compile-command 'make lock'
UPGRADE    ?= --upgrade
WHEELS     := dist/wheels
PLATFORM   ?=

.PHONY: demo test test-min lock wheels lint bench census clean install

$(STAMP): pyproject.toml $(LOCK) $(DEV_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
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

## make test-min: the suite against the lowest version of every declared range (requirements-min.txt),
## in a new .venv-min each time, so that pyproject.toml's minimums stay true
test-min: $(MIN_REQS)
	rm -rf $(MIN_VENV)
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install --quiet --require-hashes -r $(MIN_REQS)
	$(MIN_VENV)/bin/python -m pip install --quiet --no-deps -e .
	$(MIN_VENV)/bin/python -m pip check
	$(MIN_VENV)/bin/python -m pip list --format=freeze | grep -iE '^(typer|rich|pyarrow|duckdb|pydantic|python.calamine|xlsxwriter|pandas)=='
	$(MIN_VENV)/bin/python -m pytest

## make lock: re-resolve the lock files from pyproject.toml with the newest allowed versions
## (`make lock UPGRADE=` keeps the current pins where the ranges allow); needs PyPI
lock: $(UV)
	$(UV_COMPILE) $(UPGRADE) -o $(LOCK)
	$(UV_COMPILE) $(UPGRADE) --extra dev --extra notebook --constraint $(LOCK) -o $(DEV_LOCK)
	$(UV_COMPILE) --upgrade --resolution lowest-direct --extra dev --extra notebook -o $(MIN_REQS)
	@echo "锁定文件已更新：$(LOCK)（运行）、$(DEV_LOCK)（开发和测试）、$(MIN_REQS)（最低版本测试）。请运行 make test 和 make test-min 后提交。"

$(UV):
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet uv==$(UV_VERSION)

## make wheels [PLATFORM=win_amd64]: every wheel the runtime needs, and landaudit's own, in dist/wheels/
## for a machine without internet: pip install --no-index --find-links dist/wheels landaudit
## (CPython 3.11; without PLATFORM for this machine's platform. A wheel for another platform is
## fetched for every line of the lock, whatever its marker: pip would judge the markers by this machine.)
wheels: $(LOCK)
	mkdir -p $(WHEELS)
ifeq ($(PLATFORM),)
	$(PYTHON) -m pip download --quiet --require-hashes --no-deps --only-binary=:all: -r $(LOCK) -d $(WHEELS)
else
	sed -E 's/ ;[^\\]*\\$$/ \\/' $(LOCK) > $(WHEELS)/requirements-$(PLATFORM).txt
	$(PYTHON) -m pip download --quiet --require-hashes --no-deps --only-binary=:all: --platform $(PLATFORM) \
		--python-version 3.11 --implementation cp -r $(WHEELS)/requirements-$(PLATFORM).txt -d $(WHEELS)
endif
	$(PYTHON) -m pip wheel --quiet --no-deps -w $(WHEELS) .
	@echo "离线安装包已写入 $(WHEELS)/（Python 3.11$(if $(PLATFORM),，$(PLATFORM),，本机平台)）。复制到内网电脑后运行："
	@echo "  python -m pip install --no-index --find-links $(WHEELS) landaudit"

## make census YEAR=2023: the annual census (工业用地大普查): `landaudit census` (run --by-township, then report)
census: $(STAMP)
	@test -n "$(YEAR)" || (echo "用法：make census YEAR=2023" && exit 2)
	$(BIN)/landaudit census --year $(YEAR)

## make bench: stage timings against a plain-pandas baseline and the I/O floor (benchmarks/).
## landaudit is measured as users install it: .venv-runtime holds requirements.lock only (no pandas,
## which pyarrow would import in every process); the baseline and the floor run in .venv.
RUNTIME_VENV  := .venv-runtime
RUNTIME_STAMP := $(RUNTIME_VENV)/.installed

$(RUNTIME_STAMP): pyproject.toml $(LOCK)
	rm -rf $(RUNTIME_VENV)
	$(PYTHON) -m venv $(RUNTIME_VENV)
	$(RUNTIME_VENV)/bin/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(RUNTIME_VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $@

bench: $(STAMP) $(RUNTIME_STAMP)
	$(BIN)/python benchmarks/bench.py --landaudit $(RUNTIME_VENV)/bin/landaudit $(BENCH_ARGS)

## make lint: ruff (pinned in pyproject.toml, so the rules change only with the lock)
lint: $(STAMP)
	$(BIN)/ruff check src tests

clean:
	rm -rf data/processed/* data/exports $(VENV)
	git checkout -- data/processed/.gitkeep 2>/dev/null || true
