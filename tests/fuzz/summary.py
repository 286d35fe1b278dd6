"""One line of figures from a schemathesis JSON report and the server's log:
cases run, unique failures, errors, and 5xx answers the server gave."""
import json
import re
import sys

report_path, server_log = sys.argv[1], sys.argv[2]
try:
    report = json.load(open(report_path))
except (OSError, ValueError):
    report = {}
cases = report.get("test_cases", {})
errors = sum(e.get("count", 1) for e in report.get("errors", []))
log = open(server_log, errors="replace").read()
server_errors = len(re.findall(r"\"status\":5\d\d\b", log))
print(
    f"cases {cases.get('generated', '?')}, failures {cases.get('unique_failures', '?')}, "
    f"errors {errors}, 5xx {server_errors}"
)
sys.exit(1 if server_errors or errors or cases.get("unique_failures", 1) else 0)
