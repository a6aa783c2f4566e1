#!/usr/bin/env bash
# One entry point for a fresh Debian machine with Python 3.11:
#   ./quickstart.sh demo   start the sample portals, crawl them, build data/ogi.db, serve Datasette
#   ./quickstart.sh test   run the whole test suite (what CI runs)
# Each installs what it needs itself: Debian packages (apt-get), a virtualenv in .venv, the project.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(python3-venv chromium chromium-headless-shell redis-server tesseract-ocr tesseract-ocr-chi-sim poppler-utils
              libreoffice-writer-nogui fonts-noto-cjk)
PYTHON=${PYTHON:-python3}

install_system() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo ">> installing Debian packages: ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python() {
  if [ ! -x .venv/bin/python ]; then
    echo ">> creating .venv"
    "$PYTHON" -m venv .venv
  fi
  # Reinstall only when the dependency list changed.
  local stamp=.venv/.ogi-installed want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo ">> installing Python packages into .venv"
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e '.[test]'
    echo "$want" > "$stamp"
  fi
}

case "${1:-}" in
  demo)
    install_system; install_python
    shift; exec .venv/bin/ogi demo "$@" ;;
  test)
    install_system; install_python
    shift
    set +e
    .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
    status=$?
    # pytest's 5 means no test ran: never a pass.
    [ $status -eq 5 ] && echo "no tests ran" >&2 && exit 1
    exit $status ;;
  *)
    echo "usage: $0 demo|test [args]" >&2; exit 2 ;;
esac
