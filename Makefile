# Javumbo: `make run` serves the app locally, `make test` runs every check.
# Both set up everything they need on a fresh machine.

PYTHON ?= python3
VENV := .venv
DEPLOY_VENV := .venv-deploy
SITE := lib/python3.12/site-packages

.PHONY: run test lint typecheck pytest package bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else "Javumbo needs Python 3.12 (see .python-version); got " + sys.version)'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	echo "$(CURDIR)" > $(VENV)/$(SITE)/javumbo-checkout.pth
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/python -m devtools.run_local

test: lint typecheck pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

typecheck: $(VENV)/.installed
	DEBUG=1 $(VENV)/bin/mypy .

pytest: $(VENV)/.installed
	$(VENV)/bin/python -m pytest

$(DEPLOY_VENV)/.installed: requirements.txt requirements-deploy.txt
	$(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-deploy.txt
	touch $@

# The Lambda zip, built by zappa from a virtualenv holding only what Lambda runs.
package: $(DEPLOY_VENV)/.installed
	mkdir -p dist
	SECRET_KEY=collectstatic $(DEPLOY_VENV)/bin/python manage.py collectstatic --no-input -v 0
	VIRTUAL_ENV=$(CURDIR)/$(DEPLOY_VENV) PATH=$(CURDIR)/$(DEPLOY_VENV)/bin:$$PATH \
		$(DEPLOY_VENV)/bin/zappa package $${STAGE:-dev} -o dist/javumbo-$${STAGE:-dev}.zip

bench: $(VENV)/.installed
	$(VENV)/bin/python -m bench storage

clean:
	rm -rf $(VENV) $(DEPLOY_VENV) dist var staticfiles
