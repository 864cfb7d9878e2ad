#!/bin/bash
# Installs the Debian packages wazofs needs to build, run and be tested (as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	build-essential pkg-config libfuse3-dev fuse3 libyaml-dev libarchive-dev nettle-dev zlib1g-dev \
	fakeroot dpkg-dev lintian util-linux tar gzip xz-utils zstd zip unzip rsync \
	python3 python3-yaml git apt apt-utils gnupg clang-format clang libclang-rt-14-dev debhelper \
	attr acl systemd clang-tools cppcheck diffoscope-minimal >/dev/null
echo "dependencies installed"
