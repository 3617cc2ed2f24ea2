"""Dependency audit: pip-audit over the project's installed environment, with a documented allowlist.

    python .ci/audit.py [--allowlist audit-allowlist.txt] [--services pypi,osv]      (make audit)

Tries each vulnerability service in turn (pip-audit's `pypi`, then `osv`) and uses the first that can
look up at least one installed distribution. Exit status:
  0  no advisory outside the allowlist; or no service reachable (DEGRADED, printed loudly: nothing
     was audited), unless AUDIT_STRICT=1, which turns that into a failure;
  1  advisories found that the allowlist does not cover (each printed with its fix versions), or a
     service unreachable with AUDIT_STRICT=1;
  2  a broken allowlist or pip-audit missing.
A registry that serves packages but not advisories must not pass as "no known vulnerabilities":
pip-audit itself exits 0 when it could look nothing up, so this script counts what was audited.

Allowlist (audit-allowlist.txt): one advisory id per line, then `#` and the reason it is accepted
(which package, why it does not apply or when it will be fixed). An entry without a reason is an error.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_UNREACHABLE = ("ConnectionError", "NameResolutionError", "Max retries exceeded", "Failed to resolve",
                "timed out", "Temporary failure in name resolution", "Connection refused")  # fmt: skip


@dataclass(frozen=True)
class Allowed:
    """One accepted advisory and why."""

    id: str
    reason: str


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    id: str
    fix_versions: tuple[str, ...]


@dataclass(frozen=True)
class ServiceRun:
    """What one service said: audited count, skipped count, findings, or why it could not answer."""

    service: str
    audited: int = 0
    skipped: int = 0
    findings: tuple[Finding, ...] = ()
    problem: str = ""


def read_allowlist(path: Path) -> list[Allowed]:
    """Parse the allowlist; ValueError naming the line when an entry has no reason."""
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        ident, _, reason = text.partition("#")
        ident, reason = ident.strip(), reason.strip()
        if not ident or " " in ident:
            raise ValueError(f"{path.name} line {number}: expected 'ADVISORY-ID  # reason' (got: {text!r})")
        if not reason:
            raise ValueError(
                f"{path.name} line {number}: {ident} needs a reason after '#' (why it is accepted)"
            )
        entries.append(Allowed(ident, reason))
    return entries


def run_service(service: str, allowed: list[Allowed], timeout: int) -> ServiceRun:
    command = [sys.executable, "-m", "pip_audit", "--local", "--skip-editable", "--format", "json",
               "--vulnerability-service", service, "--progress-spinner", "off", "--timeout", str(timeout)]  # fmt: skip
    for entry in allowed:
        command += ["--ignore-vuln", entry.id]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    except subprocess.TimeoutExpired:
        return ServiceRun(service, problem="pip-audit did not finish within 15 minutes")
    try:
        report = json.loads(done.stdout)
    except ValueError:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        unreachable = any(marker in done.stderr for marker in _UNREACHABLE)
        why = "cannot reach the service" if unreachable else f"pip-audit failed (exit {done.returncode})"
        return ServiceRun(service, problem=f"{why}: {tail[0][:300]}")
    audited = skipped = 0
    findings = []
    for dep in report.get("dependencies", []):
        if "skip_reason" in dep:
            skipped += 1
            continue
        audited += 1
        for vuln in dep.get("vulns", []):
            findings.append(
                Finding(dep["name"], dep.get("version", "?"), vuln["id"], tuple(vuln.get("fix_versions", [])))
            )
    problem = (
        ""
        if audited
        else (
            f"looked up none of the {skipped} installed distributions (every lookup: not found; this index does "
            "not serve the per-release JSON that the service reads)"
        )
    )
    return ServiceRun(service, audited, skipped, tuple(findings), problem)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="pip-audit with an allowlist; degrades when offline")
    parser.add_argument("--allowlist", type=Path, default=REPO / "audit-allowlist.txt")
    parser.add_argument("--services", default="pypi,osv", help="vulnerability services to try, in order")
    parser.add_argument("--timeout", type=int, default=15, help="socket timeout per lookup (s)")
    args = parser.parse_args(argv)
    strict = os.environ.get("AUDIT_STRICT", "") not in ("", "0", "false")
    try:
        allowed = read_allowlist(args.allowlist)
    except (OSError, ValueError) as err:
        print(f"audit: error: {err}", file=sys.stderr)
        return 2
    if shutil.which("pip-audit") is None and not _has_module("pip_audit"):
        print(
            "audit: error: pip-audit is not installed (it is in the dev extra: make installs it)",
            file=sys.stderr,
        )
        return 2
    runs = []
    for service in [s.strip() for s in args.services.split(",") if s.strip()]:
        run = run_service(service, allowed, args.timeout)
        runs.append(run)
        if not run.problem:
            break
    used = next((r for r in runs if not r.problem), None)
    if used is None:
        print("audit: DEGRADED: no vulnerability service was reachable; NOTHING WAS AUDITED.")
        for run in runs:
            print(f"audit:   {run.service}: {run.problem}")
        print("audit: run `make audit` where PyPI's JSON API or api.osv.dev is reachable "
              "(AUDIT_STRICT=1 makes this an error).")  # fmt: skip
        return 1 if strict else 0
    print(f"audit: {used.service}: {used.audited} distributions audited, {used.skipped} skipped "
          f"(editable or not on the index), {len(allowed)} advisories allowlisted in {args.allowlist.name}")  # fmt: skip
    if used.skipped:
        print("audit:   skipped distributions are not covered: see `pip-audit --local` for which")
    if used.findings:
        for f in used.findings:
            fix = ", ".join(f.fix_versions) or "no fix released"
            print(f"audit: VULNERABLE {f.package} {f.version}: {f.id} (fixed in: {fix})")
        print(f"audit: {len(used.findings)} advisories: upgrade the pins in pyproject.toml, or add each to "
              f"{args.allowlist.name} with the reason it does not apply")  # fmt: skip
        return 1
    print("audit: no known vulnerabilities outside the allowlist")
    return 0


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


if __name__ == "__main__":
    raise SystemExit(main())
