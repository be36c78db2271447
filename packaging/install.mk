# install.mk - `make install` and `make uninstall`, included by the Makefile.
#
#   make install   [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc] [SYSTEMDUNITDIR=...]
#   make uninstall (the same variables): removes exactly what install wrote
#
# Binaries in $(PREFIX)/bin; policies, policies/lib and the simulator's
# scenarios in $(PREFIX)/share/xds-lua, where xds-lua finds a policy by
# name (relative to its own binary, so a DESTDIR tree works as it is); man
# pages; the systemd unit in systemd's unit folder (pkg-config, else
# /lib/systemd/system) with the paths of this PREFIX; the environment file
# the unit reads, /etc/xds-lua/xds-lua.conf (kept if it exists); the
# profile folder /etc/xds/profiles.

SYSCONFDIR     ?= /etc
SYSTEMDUNITDIR ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
BINDIR   := $(PREFIX)/bin
SHAREDIR := $(PREFIX)/share/xds-lua
MANDIR   := $(PREFIX)/share/man
STATEDIR := /var/lib/xds-lua

MAN1 := man/xds-lua.1 man/xds-sim.1
MAN5 := man/xds-lua-policy.5
INST_POLICIES := $(sort $(wildcard policies/*.lua))
INST_POLICYLIB := $(sort $(wildcard policies/lib/*.lua))
INST_SCENARIOS := $(sort $(wildcard sim/scenarios/*.lua))

$(B)/xds-lua.service: packaging/xds-lua.service.in
	@mkdir -p $(dir $@)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< >$@

install: all $(B)/xds-lua.service
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)/policies/lib \
		$(DESTDIR)$(SHAREDIR)/scenarios $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/xds-lua \
		$(DESTDIR)$(SYSCONFDIR)/xds/profiles
	install -m 755 $(B)/xds-lua $(B)/xds-sim $(DESTDIR)$(BINDIR)/
	install -m 644 $(INST_POLICIES) $(DESTDIR)$(SHAREDIR)/policies/
	install -m 644 $(INST_POLICYLIB) $(DESTDIR)$(SHAREDIR)/policies/lib/
	install -m 644 $(INST_SCENARIOS) $(DESTDIR)$(SHAREDIR)/scenarios/
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 644 $(B)/xds-lua.service $(DESTDIR)$(SYSTEMDUNITDIR)/xds-lua.service
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/xds-lua/xds-lua.conf ]; then \
		echo "install: keeping $(DESTDIR)$(SYSCONFDIR)/xds-lua/xds-lua.conf"; \
	else \
		echo "install -m 644 packaging/xds-lua.conf $(DESTDIR)$(SYSCONFDIR)/xds-lua/xds-lua.conf"; \
		install -m 644 packaging/xds-lua.conf $(DESTDIR)$(SYSCONFDIR)/xds-lua/xds-lua.conf; \
	fi

# The config file goes only if it is still the one install wrote; folders
# only if they are empty (another package or the administrator may use them).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/xds-lua $(DESTDIR)$(BINDIR)/xds-sim
	rm -f $(INST_POLICIES:policies/%=$(DESTDIR)$(SHAREDIR)/policies/%)
	rm -f $(INST_POLICYLIB:policies/lib/%=$(DESTDIR)$(SHAREDIR)/policies/lib/%)
	rm -f $(INST_SCENARIOS:sim/scenarios/%=$(DESTDIR)$(SHAREDIR)/scenarios/%)
	rm -f $(MAN1:man/%=$(DESTDIR)$(MANDIR)/man1/%) $(MAN5:man/%=$(DESTDIR)$(MANDIR)/man5/%)
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/xds-lua.service
	@c=$(DESTDIR)$(SYSCONFDIR)/xds-lua/xds-lua.conf; \
	if [ -e $$c ] && ! cmp -s $$c packaging/xds-lua.conf; then \
		echo "uninstall: keeping $$c (changed since install)"; \
	else echo "rm -f $$c"; rm -f $$c; fi
	-rmdir --ignore-fail-on-non-empty $(DESTDIR)$(SHAREDIR)/policies/lib \
		$(DESTDIR)$(SHAREDIR)/policies $(DESTDIR)$(SHAREDIR)/scenarios $(DESTDIR)$(SHAREDIR) \
		$(DESTDIR)$(SYSCONFDIR)/xds-lua $(DESTDIR)$(SYSCONFDIR)/xds/profiles \
		$(DESTDIR)$(SYSCONFDIR)/xds
