# The libvirt testbed (issue 7): QEMU VMs through libvirt's embedded driver, no daemon needed.
# `make test` runs tests/testbed like every other test directory; this file adds the one host step
# the embedded driver needs (libvirt resolves its default user libvirt-qemu before reading qemu.conf,
# and only libvirt-daemon-system would create it) and some handy targets.
# Opt out of the VM tests only explicitly: TEETH_SKIP_TESTBED=1.
.PHONY: testbed-host test-testbed testbed-up testbed-down

testbed-host: $(APT_STAMP)
	@getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
	@getent passwd libvirt-qemu >/dev/null || useradd --system --no-create-home --gid libvirt-qemu \
	  --home-dir /nonexistent --shell /usr/sbin/nologin libvirt-qemu

test: testbed-host

test-testbed: $(STAMP) testbed-host
	$(VENV)/bin/pytest -q tests/testbed

testbed-up: $(STAMP) testbed-host
	$(VENV)/bin/teeth-testbed up

testbed-down: $(STAMP)
	$(VENV)/bin/teeth-testbed down
