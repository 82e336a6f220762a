#!/usr/bin/env bash
# Installs the OpenSSH server and client that the ssh tests
# (crates/conductor-cli/tests/remote.rs) start on loopback; idempotent.
# The tests start their own sshd instances; nothing is enabled or started here.
set -euo pipefail
if [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null && command -v ssh-keygen >/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "ssh.sh: cannot install openssh-server here (not root or no apt-get); the ssh tests will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends openssh-server openssh-client >/dev/null
