# make            release build
# make test       the whole test suite (same as scripts/test.sh)
# make man        man pages mdd.1 and mdctl.1 (swift-argument-parser's generate-manual plugin)
# make completions  bash, zsh and fish completions (swift-argument-parser's --generate-completion-script)
# make install    binaries, man pages, completions, docs, systemd units and the default model under $(PREFIX);
#                 creates the mdd user
PREFIX ?= /usr/local
SYSTEMD_DIR ?= /etc/systemd/system
BIN = .build/release
MAN_OUT = .build/plugins/GenerateManual/outputs
COMPLETIONS = .build/completions

.PHONY: all test man completions install uninstall

all:
	swift build -c release

test:
	./scripts/test.sh

man: all
	swift package --allow-writing-to-package-directory generate-manual
	cp $(MAN_OUT)/Daemon/mdd.1 $(MAN_OUT)/ctl/mdctl.1 .build/

completions: all
	mkdir -p $(COMPLETIONS)
	for p in mdd mdctl; do for sh in bash zsh fish; do $(BIN)/$$p --generate-completion-script $$sh > $(COMPLETIONS)/$$p.$$sh; done; done

install: all man completions
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/mdd/models $(DESTDIR)$(SYSTEMD_DIR) $(DESTDIR)/etc/mdd \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d \
		$(DESTDIR)$(PREFIX)/share/doc/mdd/docs
	install -m 0755 $(BIN)/mdd $(BIN)/mdctl $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 .build/mdd.1 .build/mdctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	for p in mdd mdctl; do \
		install -m 0644 $(COMPLETIONS)/$$p.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$p; \
		install -m 0644 $(COMPLETIONS)/$$p.zsh $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_$$p; \
		install -m 0644 $(COMPLETIONS)/$$p.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/$$p.fish; \
	done
	install -m 0644 README.md CHANGELOG.md $(DESTDIR)$(PREFIX)/share/doc/mdd/
	install -m 0644 docs/*.md $(DESTDIR)$(PREFIX)/share/doc/mdd/docs/
	if [ -d models ]; then cp -r models/. $(DESTDIR)$(PREFIX)/share/mdd/models/; fi
	install -m 0644 systemd/mdd.service systemd/mdd.socket $(DESTDIR)$(SYSTEMD_DIR)/
	install -m 0644 systemd/mdd.json.example $(DESTDIR)/etc/mdd/
	@# A staged install (DESTDIR, packaging) must not create users on the build machine: the package's postinst does.
	@if [ -z "$(DESTDIR)" ]; then id mdd >/dev/null 2>&1 || useradd --system --home-dir /var/lib/mdd --shell /usr/sbin/nologin mdd; \
	else echo "DESTDIR set: not creating the mdd user here (on the target: useradd --system --home-dir /var/lib/mdd --shell /usr/sbin/nologin mdd)"; fi
	@echo "installed; enable with: systemctl daemon-reload && systemctl enable --now mdd"

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mdd $(DESTDIR)$(PREFIX)/bin/mdctl $(DESTDIR)$(SYSTEMD_DIR)/mdd.service $(DESTDIR)$(SYSTEMD_DIR)/mdd.socket
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/mdd.1 $(DESTDIR)$(PREFIX)/share/man/man1/mdctl.1
	for p in mdd mdctl; do rm -f $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$p \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_$$p $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/$$p.fish; done
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/mdd
