#!/usr/bin/python3
# virtform.py: an Ansible module that converges a libvirt host to a directory
# of virtform manifests by running the virtform command: `plan --json` in
# check mode, `apply --json` otherwise. Not a second implementation of
# virtform: every decision (what to change, what is blocked) is the binary's.
# Licence: LGPL-2.1-or-later, as virtform.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: virtform
short_description: Converge a libvirt host to a directory of virtform manifests
description:
  - Runs C(virtform plan --json) in check mode and C(virtform apply --json)
    otherwise, against the manifests under I(path).
  - In check mode nothing on the host changes; C(changed) is true exactly when
    C(virtform plan) exits 2 (changes pending).
  - Otherwise the module plans first and applies only when the plan has steps,
    so a converged host reports C(changed=false) and is not touched.
  - "In diff mode (C(--diff)) each planned step is one diff entry, headed
    C(Kind/name), with the plan's field changes (C(field: old) before,
    C(field: new) after)."
  - A rejected plan (conflicts), a blocked step or an apply that does not
    converge fails the task with virtform's own message.
version_added: "0.1.0"
author: virtform maintainers
requirements:
  - virtform (the command) on the managed host
options:
  path:
    description:
      - Manifest directories (read recursively) or files, as C(virtform plan PATH...) takes them.
    type: list
    elements: path
    required: true
  uri:
    description:
      - The libvirt URI (C(virtform -c)). Default is libvirt's default
        (C(LIBVIRT_DEFAULT_URI) honoured); C(test:///default) changes nothing real.
    type: str
    aliases: [connect]
  state_dir:
    description:
      - Where the ownership ledger and lock live (C(--state-dir)); default C(/var/lib/virtform).
    type: path
  replace:
    description:
      - Objects virtform may destroy and recreate (C(--replace KIND/NAME),
        C(Volume/POOL/NAME) for volumes).
    type: list
    elements: str
    default: []
  allow_empty:
    description:
      - Let an empty manifest set remove what virtform owns (C(--allow-empty)).
    type: bool
    default: false
  lock_timeout:
    description:
      - Seconds to wait for another apply or watch on the same state directory (C(--lock-timeout)).
    type: float
  executable:
    description:
      - The virtform binary; default is C(virtform) on C(PATH).
    type: path
notes:
  - Supports check mode and diff mode.
  - virtform changes only objects it owns; see docs/concepts.md in virtform.
"""

EXAMPLES = r"""
- name: Show what would change (check mode), with the field changes
  virtform:
    path: /srv/virtform/manifests
    uri: qemu:///system
  check_mode: true
  diff: true

- name: Converge the host
  virtform:
    path: /srv/virtform/manifests
    uri: qemu:///system
  register: vf

- name: Replace a volume whose format changed
  virtform:
    path: /srv/virtform/manifests
    replace:
      - Volume/tank/web-1-root.qcow2
"""

RETURN = r"""
plan:
  description: The plan, as C(virtform plan --json) prints it (specs/plan.schema.json).
  returned: always, unless virtform could not be run
  type: dict
  sample: {"format_version": "1", "rejected": false, "changes": true,
           "steps": [{"action": "create", "kind": "StoragePool", "name": "tank",
                      "pool": null, "file": "m/pool.yaml", "line": 1,
                      "reason": "create dir pool at /srv/tank", "changes": []}],
           "summary": {"create": 1, "update": 0, "remove": 0, "blocked": 0, "retain": 0},
           "conflicts": [], "leases": []}
apply:
  description: >
    What C(virtform apply --json) printed: the steps carried out with their
    results, the re-plan and whether the host converged.
  returned: when changes were applied (not in check mode)
  type: dict
summary:
  description: The plan's counts of steps by action.
  returned: always, unless virtform could not be run
  type: dict
  sample: {"create": 1, "update": 0, "remove": 0, "blocked": 0, "retain": 0}
cmd:
  description: The virtform commands run, in order.
  returned: always
  type: list
  elements: list
"""

import json

from ansible.module_utils.basic import AnsibleModule


def step_id(step):
    if step.get("pool"):
        return "%s/%s/%s" % (step["kind"], step["pool"], step["name"])
    return "%s/%s" % (step["kind"], step["name"])


def plan_diff(plan):
    """One Ansible diff entry per step: the plan's field changes, or the
    step's reason when it has none (a create, a removal)."""
    out = []
    for step in plan.get("steps", []):
        name = step_id(step)
        action = step.get("action", "")
        before, after = [], []
        for c in step.get("changes") or []:
            before.append("%s: %s\n" % (c.get("field"), c.get("old")))
            after.append("%s: %s (%s)\n" % (c.get("field"), c.get("new"), c.get("effect")))
        if not before and not after:
            line = "%s: %s\n" % (action, step.get("reason", ""))
            if action == "create":
                after.append(line)
            else:
                before.append("%s\n" % name)
                after.append(line)
        out.append({"before_header": "%s (live)" % name,
                    "after_header": "%s (%s)" % (name, action),
                    "before": "".join(before), "after": "".join(after)})
    return out


def run_json(module, argv, ok_rcs):
    rc, out, err = module.run_command(argv)
    doc = None
    try:
        doc = json.loads(out) if out.strip() else None
    except ValueError:
        doc = None
    if rc not in ok_rcs or doc is None:
        msg = None
        if isinstance(doc, dict):
            msg = doc.get("error")
            if not msg and doc.get("rejected"):
                msg = "the plan was rejected: " + "; ".join(
                    c.get("message", "") for c in doc.get("conflicts", []))
            if not msg and isinstance(doc.get("replan"), dict):
                msg = "apply did not converge"
        msg = msg or err.strip() or "virtform exited %d" % rc
        module.fail_json(msg="virtform %s: %s" % (argv[1], msg), rc=rc, stdout=out,
                         stderr=err, cmd=argv, plan=doc if argv[1] == "plan" else None,
                         apply=doc if argv[1] == "apply" else None)
    return rc, doc


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="list", elements="path", required=True),
            uri=dict(type="str", aliases=["connect"]),
            state_dir=dict(type="path"),
            replace=dict(type="list", elements="str", default=[]),
            allow_empty=dict(type="bool", default=False),
            lock_timeout=dict(type="float"),
            executable=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    vf = p["executable"] or module.get_bin_path("virtform", required=True)
    common = []
    if p["uri"]:
        common += ["-c", p["uri"]]
    if p["state_dir"]:
        common += ["--state-dir", p["state_dir"]]
    for r in p["replace"]:
        common += ["--replace", r]
    if p["allow_empty"]:
        common += ["--allow-empty"]
    common += ["--json", "--color", "never"]

    cmds = []
    plan_argv = [vf, "plan"] + common + ["--"] + p["path"]
    cmds.append(plan_argv)
    rc, plan = run_json(module, plan_argv, (0, 2))
    result = dict(changed=rc == 2, plan=plan, summary=plan.get("summary"), cmd=cmds)
    if module._diff:
        result["diff"] = plan_diff(plan)
    if rc == 0 or module.check_mode:
        module.exit_json(**result)

    apply_argv = [vf, "apply"] + common
    if p["lock_timeout"] is not None:
        apply_argv += ["--lock-timeout", "%g" % p["lock_timeout"]]
    apply_argv += ["--"] + p["path"]
    cmds.append(apply_argv)
    _, applied = run_json(module, apply_argv, (0,))
    # What apply planned itself is what it did (the host may have moved
    # since the plan above).
    if isinstance(applied.get("plan"), dict):
        result["plan"] = applied["plan"]
        result["summary"] = applied["plan"].get("summary")
        result["changed"] = bool(applied["plan"].get("changes"))
        if module._diff:
            result["diff"] = plan_diff(applied["plan"])
    result["apply"] = applied
    module.exit_json(**result)


if __name__ == "__main__":
    main()
