"""Declarative policies (policies/*.yaml) -> decisions: flagged, severity, rule hits.

`schema` is the YAML language, `load` finds and validates files, `evaluate` applies a policy to a
file's counts or to the cumulative counts of a folder or owner. docs/policies.md describes all three.
"""

from dlpscan.policy.evaluate import SEVERITY_ORDER, evaluate, evaluate_scope, max_severity
from dlpscan.policy.load import Policy, PolicyError, builtin_policies, check_policy_file, load_policy

__all__ = [
    "SEVERITY_ORDER",
    "Policy",
    "PolicyError",
    "builtin_policies",
    "check_policy_file",
    "evaluate",
    "evaluate_scope",
    "load_policy",
    "max_severity",
]
