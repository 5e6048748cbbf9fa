# make            release build
# make test       the whole test suite (same as scripts/test.sh)
# make install    binaries, systemd units and the default model under $(PREFIX); creates the mdd user
PREFIX ?= /usr/local
SYSTEMD_DIR ?= /etc/systemd/system
BIN = .build/release

.PHONY: all test install uninstall

all:
	swift build -c release

test:
	./scripts/test.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/mdd/models $(DESTDIR)$(SYSTEMD_DIR) $(DESTDIR)/etc/mdd
	install -m 0755 $(BIN)/mdd $(BIN)/mdctl $(DESTDIR)$(PREFIX)/bin/
	if [ -d models ]; then cp -r models/. $(DESTDIR)$(PREFIX)/share/mdd/models/; fi
	install -m 0644 systemd/mdd.service systemd/mdd.socket $(DESTDIR)$(SYSTEMD_DIR)/
	install -m 0644 systemd/mdd.json.example $(DESTDIR)/etc/mdd/
	id mdd >/dev/null 2>&1 || useradd --system --home-dir /var/lib/mdd --shell /usr/sbin/nologin mdd
	@echo "installed; enable with: systemctl daemon-reload && systemctl enable --now mdd"

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mdd $(DESTDIR)$(PREFIX)/bin/mdctl $(DESTDIR)$(SYSTEMD_DIR)/mdd.service $(DESTDIR)$(SYSTEMD_DIR)/mdd.socket
