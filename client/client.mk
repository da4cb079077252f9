# The web client (client/), included by the top-level Makefile: `include client/client.mk`.
# Every target runs from the repository root.
#   make client-build   install (npm ci, only when package-lock.json changed) and build client/dist
#   make client-test    the Vitest unit tests
#   make client-e2e     the end-to-end tests in headless Chromium against a local Javumbo
#                       (installs Debian's chromium first when it is missing)

CLIENT := client
CHROMIUM ?= /usr/bin/chromium
CLIENT_SOURCES := $(shell find $(CLIENT)/src -type f 2>/dev/null) $(CLIENT)/index.html \
	$(CLIENT)/vite.config.ts $(wildcard $(CLIENT)/tsconfig*.json)
CLIENT_SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: client-build client-test client-e2e

$(CLIENT)/node_modules/.installed: $(CLIENT)/package.json $(CLIENT)/package-lock.json
	cd $(CLIENT) && npm ci --no-audit --no-fund
	touch $@

$(CLIENT)/dist/index.html: $(CLIENT)/node_modules/.installed $(CLIENT_SOURCES)
	cd $(CLIENT) && npm run build

client-build: $(CLIENT)/dist/index.html

client-test: $(CLIENT)/node_modules/.installed
	cd $(CLIENT) && npm test

# Browsers cannot be downloaded here: Playwright drives the distribution's chromium.
$(CHROMIUM):
	$(CLIENT_SUDO) apt-get update
	$(CLIENT_SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

client-e2e: client-build $(CHROMIUM) .venv/.installed
	cd $(CLIENT) && CHROMIUM=$(CHROMIUM) npm run e2e
