# The course's entry points. Everything installs itself into .venv on first use.
#   make lab        launch JupyterLab on the course (jupytext pairing on: a save updates src/*.md)
#   make test       run every test (unit, parity, nbval on the lessons, grader, browser)
#   make sync       after editing a text source (notebooks/src/*.md, solutions/src/*.md): update
#                   the notebooks, re-run the lessons whose code changed, release exercises/,
#                   rewrite the README's course map
#   make notebooks  re-execute every lesson in a fresh kernel and store its outputs
#   make exercises  release exercises/ from solutions/ (nbgrader's preprocessors)
#   make grade SUBMISSIONS=dir/ OUT=grades/   grade a class
#   make bench      print the benchmark tables
#   make lint       ruff on the library, the tests and every notebook
#   make site       the course as static HTML in build/site/ (stored outputs, no kernel)
#   make hub        a JupyterHub for a class on this machine (deploy/README.md)
#   make lab-instructor   JupyterLab with the instructor tools (nbgrader) on
#
# Python 3.11, 3.12 or 3.13: the newest one found is used, or PYTHON=python3.12 (CI uses 3.11,
# the version the stored outputs are made with). VENV=.venv312 keeps a second venv beside .venv.

PYTHON_CANDIDATES := $(if $(filter true,$(CI)),python3.11 python3,python3.13 python3.12 python3.11 python3)
PYTHON ?= $(firstword $(foreach p,$(PYTHON_CANDIDATES),$(shell $(p) -c 'import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 13)' >/dev/null 2>&1 && echo $(p))) python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
STAMP_HUB := $(VENV)/.installed-hub
STAMP_INSTRUCTOR := $(VENV)/.installed-instructor
# JupyterLab settings every server from this venv gets: no news prompt, nbgrader's UI off (deploy/lab/)
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json \
                $(VENV)/share/jupyter/lab/settings/page_config.json
JOBS   ?= 2
PORT   ?= 8888

.PHONY: lab lab-instructor hub hub-venv site test test-fast sync notebooks exercises grade bench lint lock \
        browser-deps npm-deps sandbox-deps clean

$(PY):
	@$(PYTHON) -c 'import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 13), "Python 3.11, 3.12 or 3.13 is required (found %d.%d); set PYTHON=" % sys.version_info[:2]'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml requirements.lock | $(PY)
	$(PY) -m pip install --quiet -c requirements.lock -e .
	@touch $@

$(STAMP_DEV): pyproject.toml requirements.lock | $(PY)
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP_RUN) $@

$(STAMP_HUB): pyproject.toml requirements.lock | $(PY)
	$(PY) -m pip install --quiet -c requirements.lock -e '.[hub]'
	@touch $@

$(STAMP_INSTRUCTOR): pyproject.toml requirements.lock | $(PY)
	$(PY) -m pip install --quiet -c requirements.lock -e '.[instructor]'
	@touch $@

$(VENV)/share/jupyter/lab/settings/%.json: deploy/lab/%.json | $(PY)
	@mkdir -p $(@D) && cp $< $@

# --allow-root only where the user is root (containers, some JupyterHub images)
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP_RUN) $(LAB_SETTINGS)
	$(VENV)/bin/jupyter lab --port=$(PORT) --ServerApp.root_dir=. $(ALLOW_ROOT) $(LAB_ARGS) notebooks/00_start_here.ipynb

lab-instructor: $(STAMP_RUN) $(STAMP_INSTRUCTOR) $(LAB_SETTINGS)
	JUPYTER_CONFIG_PATH=$(CURDIR)/deploy/instructor $(VENV)/bin/jupyter lab --port=$(PORT) \
	  --ServerApp.root_dir=. $(ALLOW_ROOT) $(LAB_ARGS)

hub-venv: $(STAMP_RUN) $(STAMP_HUB) $(LAB_SETTINGS) npm-deps

hub: hub-venv
	$(VENV)/bin/jupyterhub -f deploy/jupyterhub_config.py

site: $(STAMP_RUN) npm-deps
	$(PY) tools/build_site.py --out build/site

browser-deps:
	@bash tools/ensure_debian_package.sh /usr/bin/chromium chromium "browser tests will be skipped"

# bubblewrap: the sandbox of every grading kernel (the grader refuses to run without it)
sandbox-deps:
	@bash tools/ensure_debian_package.sh bwrap bubblewrap "grading tests will be skipped"

npm-deps:
	@bash tools/ensure_npm_packages.sh

test: $(STAMP_DEV) $(LAB_SETTINGS) browser-deps npm-deps sandbox-deps
	$(PY) -m pytest -n $(JOBS) --dist loadscope tests notebooks \
	  --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  --nbval-cell-timeout 300

test-fast: $(STAMP_DEV) sandbox-deps
	$(PY) -m pytest -n $(JOBS) --dist loadscope tests -m "not browser and not slow and not hub"

sync: $(STAMP_DEV)
	$(PY) tools/sync_notebooks.py
	$(PY) -m cogapp -r README.md

notebooks: $(STAMP_DEV)
	$(PY) tools/execute_notebooks.py notebooks/*.ipynb

exercises: $(STAMP_DEV)
	$(PY) -m course_lib.exercises.release solutions exercises

# started isolated (no site, no .pth files): see course_lib/grading/isolation.py
grade: $(STAMP_DEV) sandbox-deps
	$(PY) -s -S -P course_lib/grading/isolation.py $(SUBMISSIONS) --out $(or $(OUT),grades) --jobs $(JOBS)

bench: $(STAMP_DEV)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: $(STAMP_DEV)
	$(VENV)/bin/ruff check .

lock: $(STAMP_DEV)
	@(echo "# Full pin set for a reproducible course environment (pip constraints file)."; \
	  echo "# Regenerate with: make lock"; \
	  $(PY) -m pip freeze --exclude-editable | grep -v '^course' | sed 's/^torch==\(.*\)+cpu$$/torch==\1/') > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache
