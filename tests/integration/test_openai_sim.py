#!/usr/bin/env python3
"""Semantics of openai_sim, the OpenAI audit-log API simulator every other integration test uses.

Starts the simulator on a free loopback port and checks, against independently computed
expectations, the behaviour tests and the quickstart rely on: admin-key auth, limit bounds,
newest-first order, cursor paging (after/before) that is complete and duplicate-free across
same-second ties, time and bracket-array filters, tenant scoping, every fault kind, the seed
`organization_logs` variant (ingestion order, append-only id cursor, get-by-id, every fault kind),
determinism and clean shutdown.

Usage: test_openai_sim.py --build-dir BUILD   (exit 77 when the binary is not built)
"""

import argparse
import http.client
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

DOCUMENTED_TYPES = (
    "api_key.created", "api_key.updated", "api_key.deleted", "certificate.created",
    "certificate.updated", "certificate.deleted", "certificates.activated",
    "certificates.deactivated", "checkpoint.permission.created", "checkpoint.permission.deleted",
    "external_key.registered", "external_key.removed", "group.created", "group.updated",
    "group.deleted", "invite.sent", "invite.accepted", "invite.deleted", "ip_allowlist.created",
    "ip_allowlist.updated", "ip_allowlist.deleted", "ip_allowlist.config.activated",
    "ip_allowlist.config.deactivated", "login.succeeded", "login.failed", "logout.succeeded",
    "logout.failed", "organization.updated", "project.created", "project.updated",
    "project.archived", "project.deleted", "rate_limit.updated", "rate_limit.deleted",
    "resource.deleted", "tunnel.created", "tunnel.updated", "tunnel.deleted",
    "workload_identity_provider.created", "workload_identity_provider.updated",
    "workload_identity_provider.deleted", "workload_identity_provider_mapping.created",
    "workload_identity_provider_mapping.updated", "workload_identity_provider_mapping.deleted",
    "role.created", "role.updated", "role.deleted", "role.assignment.created",
    "role.assignment.deleted", "role.bound_to_resource", "role.unbound_from_resource",
    "scim.enabled", "scim.disabled", "service_account.created", "service_account.updated",
    "service_account.deleted", "user.added", "user.updated", "user.deleted",
    "tenant.metadata.updated", "tenant.microsoft_entra_mapping.upserted",
    "tenant.microsoft_entra_mapping.deleted", "tenant.workload_identity.provider.created",
    "tenant.workload_identity.provider.updated", "tenant.workload_identity.provider.archived",
    "tenant.workload_identity.mapping.created", "tenant.workload_identity.mapping.updated",
    "tenant.workload_identity.mapping.archived", "tenant.workload_identity.binding.created",
    "tenant.workload_identity.principal.provisioned",
    "tenant.workload_identity.access_token.issued", "tenant.admin_api_key.created",
    "tenant.admin_api_key.updated", "tenant.admin_api_key.deleted",
    "tenant.project_api_key.created", "tenant.chatgpt_access_token.revoked",
    "tenant.migration.completed", "tenant.sso.migrated", "tenant.domains.migrated",
    "tenant.sso_connection.created", "tenant.sso_connection.updated",
    "tenant.sso_connection.deleted", "tenant.sso_connection.setup.started",
    "tenant.policy.created", "tenant.policy.updated", "tenant.policy.deleted",
    "tenant.policy.attached", "tenant.policy.detached",
    "tenant.principal_authentication_policy.resolved", "tenant.scim.setup.started",
    "tenant.scim.deletion.requested", "tenant.scim.directory.created",
    "tenant.product_access_policy.updated", "tenant.resource_share_grant.created",
    "tenant.resource_share_grant.updated", "tenant.resource_share_grant.accepted",
    "tenant.resource_share_grant.declined", "tenant.resource_share_grant.revoked",
    "tenant.resource_share_grant.deleted", "tenant.service_account.updated",
    "tenant.service_account.deleted", "tenant.service_account.token.revoked",
    "tenant.billing.overage_limit.updated", "tenant.billing.alerts.updated",
    "tenant.billing.info.updated", "tenant.usage_limit.workspace.updated",
    "tenant.usage_limit.group.updated", "tenant.usage_limit.user.updated",
    "tenant.usage_limit.increase_request.updated", "tenant.usage_limit.increase_request.resolved",
    "tenant.group.created", "tenant.group.updated", "tenant.group.deleted",
    "tenant.group.member.added", "tenant.group.member.removed",
    "tenant.migration_rollout.status.updated", "tenant.migration_rollout.tier.updated",
    "tenant.role.metadata.updated", "tenant.custom_role.created", "tenant.custom_role.updated",
    "tenant.custom_role.deleted", "tenant.role_assignment.created",
    "tenant.role_assignment.deleted", "tenant.resource_role_assignment.created",
    "tenant.resource_role_assignment.deleted", "tenant.resource_access.updated",
    "tenant.resource_access.deleted", "tenant.ads_account.onboarding.redemption",
    "tenant.session_policy.created", "tenant.session_policy.updated",
    "tenant.session_policy.deleted", "tenant.session_revocation.started",
    "tenant.third_party_app_policy.updated", "tenant.user.added", "tenant.user.updated",
    "tenant.user.removed", "tenant.user.looked_up", "tenant.user.invited",
    "tenant.membership.revoked", "tenant.api_organization_invite.upserted",
    "tenant.api_organization_invite.deleted", "tenant.chatgpt_workspace_invite.upserted",
    "tenant.membership.accepted", "tenant.membership.declined",
    "tenant.workspace_invite_email_settings.updated",
)
LEGACY_TYPES = ("checkpoint_permission.created", "checkpoint_permission.deleted")
UNKNOWN_TYPES = ("quantum.teleported", "flux_capacitor.charged", "tenant.holodeck.opened")

KEY = "sk-admin-test-key"
END = 1_760_000_000
BACKLOG = 20000
STARTUP_DEADLINE_SECS = 60


def is_tenant_scoped(event_type):
    return event_type.startswith("tenant.") or event_type in (
        "role.bound_to_resource", "role.unbound_from_resource")


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Sim:
    """One simulator process on a free port; always stopped by the caller's `finally`."""

    def __init__(self, binary, *args):
        self.proc = subprocess.Popen(
            [binary, "--port", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.port = self._await_listening_line()
        self.conn = None

    def _await_listening_line(self):
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + STARTUP_DEADLINE_SECS
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise Failure("openai_sim did not print its listening line in time")
            chunk = os.read(self.proc.stdout.fileno(), 1)
            if not chunk:
                raise Failure("openai_sim exited: " + self.proc.stderr.read().decode()[-2000:])
            line += chunk
        text = line.decode().strip()
        prefix = "openai_sim listening on http://127.0.0.1:"
        check(text.startswith(prefix), f"unexpected startup line {text!r}")
        return int(text[len(prefix):])

    def stop(self):
        if self.conn:
            self.conn.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Failure("openai_sim did not exit on SIGTERM")
        return self.proc.returncode

    def request(self, method, path, body=None, headers=None, fresh=False):
        """Returns (status, headers dict with lower-case names, body bytes)."""
        if fresh or self.conn is None:
            if self.conn:
                self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            response = self.conn.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        except Exception:
            self.conn.close()
            self.conn = None
            raise

    def api(self, path, params=(), key=KEY):
        query = urllib.parse.urlencode(list(params))
        headers = {"Authorization": "Bearer " + key} if key is not None else {}
        return self.request("GET", path + ("?" + query if query else ""), headers=headers)

    def list(self, params=(), key=KEY):
        status, _, body = self.api("/v1/organization/audit_logs", params, key)
        check(status == 200, f"list {params} -> {status} {body[:300]!r}")
        return json.loads(body)

    def list_all(self, params=(), limit=100, endpoint="/v1/organization/audit_logs"):
        """Follows after=last_id until has_more is false; returns every object and page count."""
        items, after, pages = [], None, 0
        while True:
            query = list(params) + [("limit", str(limit))] + ([("after", after)] if after else [])
            status, _, body = self.api(endpoint, query)
            check(status == 200, f"page {pages} -> {status} {body[:300]!r}")
            page = json.loads(body)
            pages += 1
            check(len(page["data"]) <= limit, "page larger than limit")
            items += page["data"]
            if not page["has_more"]:
                return items, pages
            check(page["last_id"] == page["data"][-1]["id"], "last_id is not the last item's id")
            after = page["last_id"]
            check(pages < 100_000, "paging does not end")

    def control(self, method, path, body=None):
        status, _, data = self.request(method, path, body=body)
        check(status == 200, f"{method} {path} -> {status} {data!r}")
        return data

    def ids(self, params=()):
        query = urllib.parse.urlencode(list(params))
        text = self.control("GET", "/_sim/ids" + ("?" + query if query else "")).decode()
        return [line for line in text.split("\n") if line]

    def fault(self, **spec):
        return json.loads(self.control("POST", "/_sim/fault", json.dumps(spec).encode()))

    def stats(self):
        return json.loads(self.control("GET", "/_sim/stats"))


def sort_key(event):
    return (event["effective_at"], event["id"])


def actor_ids(event):
    actor = event.get("actor") or {}
    found = set()
    session = actor.get("session") or {}
    key = actor.get("api_key") or {}
    for candidate in ((session.get("user") or {}).get("id"), key.get("id"),
                      (key.get("user") or {}).get("id"),
                      (key.get("service_account") or {}).get("id")):
        if candidate:
            found.add(candidate)
    return found


def actor_email(event):
    actor = event.get("actor") or {}
    for holder in (actor.get("session") or {}, actor.get("api_key") or {}):
        email = (holder.get("user") or {}).get("email")
        if email:
            return email
    return None


def payload_id(event):
    payload = event.get(event["type"])
    return payload.get("id") if isinstance(payload, dict) else None


# ---- the tests ------------------------------------------------------------------------------------

def test_auth(sim):
    for key, what in ((None, "missing"), ("wrong-key", "wrong"), ("", "empty")):
        status, _, body = sim.api("/v1/organization/audit_logs", key=key)
        check(status == 401, f"{what} key -> {status}")
        error = json.loads(body)["error"]
        check(error["type"] == "invalid_request_error" and error["code"] == "invalid_api_key"
              and error["param"] is None and error["message"], f"401 body {error}")
        check("wrong-key" not in body.decode(), "the rejected key is echoed back")
    status, headers, _ = sim.api("/v1/organization/audit_logs", key=KEY)
    check(status == 200, "the right key is rejected")
    check(headers.get("x-request-id", "").startswith("req_"), "x-request-id header")
    status, _, _ = sim.request("GET", "/v1/organization/audit_logs",
                               headers={"Authorization": "bearer " + KEY})
    check(status == 200, "the Bearer scheme should be case-insensitive")
    status, _, _ = sim.api("/v1/organization_logs", key="nope")
    check(status == 401, "seed variant accepts a wrong key")


def test_key_file_rotation(binary, workdir):
    key_file = os.path.join(workdir, "admin-key")
    with open(key_file, "w") as f:
        f.write("first-key\n")
    sim = Sim(binary, "--admin-key-file", key_file, "--backlog", "10", "--end-time", str(END))
    try:
        check(sim.api("/v1/organization/audit_logs", key="first-key")[0] == 200, "first key")
        with open(key_file, "w") as f:
            f.write("second-key")
        check(sim.api("/v1/organization/audit_logs", key="first-key")[0] == 401, "rotated key")
        check(sim.api("/v1/organization/audit_logs", key="second-key")[0] == 200, "new key")
        os.remove(key_file)
        check(sim.api("/v1/organization/audit_logs", key="second-key")[0] == 401,
              "a removed key file must revoke access")
    finally:
        sim.stop()


def test_limit_bounds(sim):
    for value, code in (("0", "integer_below_min_value"), ("101", "integer_above_max_value"),
                        ("-5", "integer_below_min_value"), ("abc", "invalid_type"),
                        ("1.5", "invalid_type"), ("", "invalid_type")):
        status, _, body = sim.api("/v1/organization/audit_logs", [("limit", value)])
        check(status == 400, f"limit={value!r} -> {status}")
        error = json.loads(body)["error"]
        check(error["param"] == "limit" and error["code"] == code, f"limit={value!r}: {error}")
    check(len(sim.list()["data"]) == 20, "default limit is not 20")
    check(len(sim.list([("limit", "1")])["data"]) == 1, "limit=1")
    check(len(sim.list([("limit", "100")])["data"]) == 100, "limit=100")
    for bad in ([("effective_at[gte]", "yesterday")], [("tenant_only", "maybe")],
                [("event_types", "login.failed")], [("event_types[]", "no.such_type")],
                [("after", "x"), ("before", "y")]):
        check(sim.api("/v1/organization/audit_logs", bad)[0] == 400, f"{bad} should be a 400")


def test_order_and_complete_paging(sim):
    events, pages = sim.list_all()
    check(pages > 10, "the backlog should need many pages")
    keys = [sort_key(e) for e in events]
    check(keys == sorted(keys, reverse=True), "not newest first by (effective_at, id)")
    check(len(set(e["id"] for e in events)) == len(events), "duplicate ids across pages")
    check([e["id"] for e in events] == sim.ids(), "paging does not yield exactly /_sim/ids")
    check(all(not is_tenant_scoped(e["type"]) for e in events),
          "tenant-scoped events without tenant_only=true")
    # Ties: many events share a second, and some page boundaries fall inside a second.
    seconds = [e["effective_at"] for e in events]
    check(len(set(seconds)) < len(seconds) * 0.8, "backlog has too few same-second events")
    check(any(seconds[i] == seconds[i + 1] for i in range(99, len(seconds) - 1, 100)),
          "no page boundary falls inside a second")

    # Smaller pages walk the same sequence.
    small, _ = sim.list_all(limit=7)
    check([e["id"] for e in small] == [e["id"] for e in events], "limit=7 paging differs")

    # `before` walks back toward newer events; pages stay newest-first.
    middle = events[len(events) // 2]["id"]
    page = sim.list([("before", middle), ("limit", "10")])
    index = len(events) // 2
    check([e["id"] for e in page["data"]] == [e["id"] for e in events[index - 10:index]],
          "before= returns the wrong page")
    check(page["has_more"] == (index - 10 > 0), "before= has_more")
    first = sim.list([("before", events[0]["id"])])
    check(first["data"] == [] and first["has_more"] is False and first["first_id"] is None
          and first["last_id"] is None, "before the newest event should be empty")

    # An id that never existed: 400 naming the parameter.
    status, _, body = sim.api("/v1/organization/audit_logs",
                              [("after", "audit_log-0000000000000000")])
    check(status == 400 and json.loads(body)["error"]["param"] == "after", "unknown after id")
    return events


def test_same_second_tie_across_pages(sim):
    second = END + 5000
    generated = json.loads(sim.control(
        "POST", f"/_sim/generate?count=150&at={second}&type=login.succeeded&type=api_key.created"))
    check(generated["generated"] == 150 and len(set(generated["ids"])) == 150, "generate")
    window = [("effective_at[gte]", str(second)), ("effective_at[lte]", str(second))]
    first = sim.list(window + [("limit", "100")])
    check(len(first["data"]) == 100 and first["has_more"], "first page of the tie")
    second_page = sim.list(window + [("limit", "100"), ("after", first["last_id"])])
    check(len(second_page["data"]) == 50 and not second_page["has_more"], "second page")
    seen = [e["id"] for e in first["data"] + second_page["data"]]
    check(len(set(seen)) == 150, "a same-second tie was duplicated across pages")
    check(set(seen) == set(generated["ids"]), "a same-second tie was skipped across pages")
    check(all(e["effective_at"] == second for e in first["data"] + second_page["data"]), "time")


def test_late_indexed_events(sim, events):
    past = events[len(events) // 3]["effective_at"]
    generated = json.loads(sim.control(
        "POST", f"/_sim/generate?count=3&at={past}&type=user.added"))
    window = [("effective_at[gte]", str(past)), ("effective_at[lt]", str(past + 1))]
    ids, _ = sim.list_all(window)
    check(set(generated["ids"]) <= {e["id"] for e in ids}, "late events are not in their window")
    check([e["id"] for e in ids] == sim.ids([("gte", past), ("lt", past + 1)]),
          "late events break the window's paging")
    check(all(e["effective_at"] == past for e in ids), "window filter")


def test_time_filters(sim):
    events, _ = sim.list_all()
    times = sorted({e["effective_at"] for e in events})
    lo, hi = times[len(times) // 4], times[3 * len(times) // 4]
    cases = {
        "gt": lambda t: t > lo, "gte": lambda t: t >= lo,
        "lt": lambda t: t < hi, "lte": lambda t: t <= hi,
    }
    for op, predicate in cases.items():
        bound = lo if op.startswith("g") else hi
        got, _ = sim.list_all([(f"effective_at[{op}]", str(bound))])
        expected = [e["id"] for e in events if predicate(e["effective_at"])]
        check([e["id"] for e in got] == expected, f"effective_at[{op}] filter")
    both, _ = sim.list_all([("effective_at[gte]", str(lo)), ("effective_at[lt]", str(hi))])
    check([e["id"] for e in both] == [e["id"] for e in events if lo <= e["effective_at"] < hi],
          "gte+lt window")
    # Raw (unencoded) brackets mean the same as %5B/%5D.
    raw_path = f"/v1/organization/audit_logs?effective_at[gte]={lo}&effective_at[lt]={hi}&limit=100"
    status, _, body = sim.request("GET", raw_path, headers={"Authorization": "Bearer " + KEY})
    check(status == 200 and [e["id"] for e in json.loads(body)["data"]]
          == [e["id"] for e in both[:100]], "raw brackets differ from percent-encoded ones")
    empty = sim.list([("effective_at[gt]", str(hi)), ("effective_at[lt]", str(lo))])
    check(empty["data"] == [] and not empty["has_more"], "an empty window")


def test_array_filters(sim):
    events, _ = sim.list_all()
    login_failed = [e for e in events if e["type"] == "login.failed"]
    check(login_failed, "the backlog has no login.failed")
    for e in login_failed:
        payload = e["login.failed"]
        check(payload["error_code"] and payload["error_message"], "login.failed payload")

    def expect(params, predicate, what):
        got, _ = sim.list_all(params)
        expected = [e["id"] for e in events if predicate(e)]
        check(expected, f"{what}: test data selects nothing")
        check([e["id"] for e in got] == expected, f"{what} filter")

    expect([("event_types[]", "login.failed"), ("event_types[]", "api_key.created")],
           lambda e: e["type"] in ("login.failed", "api_key.created"), "event_types[]")
    projects = [e["project"]["id"] for e in events if e.get("project")]
    expect([("project_ids[]", projects[0]), ("project_ids[]", projects[-1])],
           lambda e: (e.get("project") or {}).get("id") in (projects[0], projects[-1]),
           "project_ids[]")
    by_session = next(e for e in events if (e.get("actor") or {}).get("type") == "session"
                      and e["actor"]["session"]["user"].get("id"))
    user_id = by_session["actor"]["session"]["user"]["id"]
    by_sa = next(e for e in events if (e.get("actor") or {}).get("api_key", {}).get("type")
                 == "service_account")
    sa_id = by_sa["actor"]["api_key"]["service_account"]["id"]
    key_id = by_sa["actor"]["api_key"]["id"]
    expect([("actor_ids[]", user_id)], lambda e: user_id in actor_ids(e), "actor_ids[] user")
    expect([("actor_ids[]", sa_id)], lambda e: sa_id in actor_ids(e), "actor_ids[] service acct")
    expect([("actor_ids[]", key_id)], lambda e: key_id in actor_ids(e), "actor_ids[] api key")
    email = actor_email(by_session)
    expect([("actor_emails[]", email)], lambda e: actor_email(e) == email, "actor_emails[]")
    resource = next(payload_id(e) for e in events if e["type"] == "project.created")
    expect([("resource_ids[]", resource)], lambda e: payload_id(e) == resource, "resource_ids[]")
    # Filters combine with AND, and with paging.
    expect([("event_types[]", "login.succeeded"), ("actor_emails[]", email)],
           lambda e: e["type"] == "login.succeeded" and actor_email(e) == email, "combined")
    # A value nobody has matches nothing (not everything).
    none = sim.list([("actor_ids[]", "user-doesnotexist")])
    check(none["data"] == [] and not none["has_more"], "unknown actor id matched events")
    # Indexed array keys (event_types[0]=...) are the same arrays.
    indexed = sim.list([("event_types[0]", "login.failed"), ("limit", "100")])
    check(all(e["type"] == "login.failed" for e in indexed["data"]) and indexed["data"],
          "event_types[0] form")


def test_tenant_scope(sim):
    tenant, _ = sim.list_all([("tenant_only", "true")])
    check(tenant, "no tenant-scoped events")
    check(all(is_tenant_scoped(e["type"]) for e in tenant), "tenant_only=true leaks others")
    explicit_false, _ = sim.list_all([("tenant_only", "false")])
    default, _ = sim.list_all()
    check([e["id"] for e in explicit_false] == [e["id"] for e in default], "tenant_only=false")
    everything = sim.ids([("tenant_only", "all")])
    check(sorted(everything) == sorted([e["id"] for e in tenant + default]),
          "tenant and non-tenant views do not partition the store")
    bound, _ = sim.list_all([("tenant_only", "true"), ("event_types[]", "role.bound_to_resource")])
    check(bound and all(e["type"] == "role.bound_to_resource" and "__" in payload_id(e)
                        for e in bound), "role.bound_to_resource with tenant_only")
    for params in ([("tenant_only", "true"), ("event_types[]", "login.succeeded")],
                   [("event_types[]", "tenant.user.added")]):
        status, _, body = sim.api("/v1/organization/audit_logs", params)
        check(status == 400 and json.loads(body)["error"]["param"] == "event_types[0]",
              f"tenant scope mismatch {params} -> {status}")


def test_shapes(sim, events):
    for e in events:
        check(isinstance(e["id"], str) and e["id"].startswith("audit_log-"), "id")
        check(isinstance(e["effective_at"], int), "effective_at must be an integer")
        payload = e.get(e["type"])
        check(payload is None or isinstance(payload, dict), "payload is keyed by the type")
        extra = set(e) - {"id", "type", "effective_at", "project", "actor", e["type"]}
        check(not extra, f"unexpected top-level keys {extra}")
        actor = e.get("actor")
        if actor and actor["type"] == "session":
            details = actor["session"].get("ip_address_details")
            if details:
                check(all(isinstance(v, str) for v in details.values()),
                      "ip_address_details values must be strings (as in the spec example)")
    actors = [e.get("actor", "absent") for e in events]
    check(any(a is None for a in actors), "no event with actor null")
    check(any(a == "absent" for a in actors), "no event without an actor key")
    check(any(isinstance(a, dict) and a["type"] == "api_key" and a["api_key"]["type"] == "user"
              for a in actors), "no user api_key actor")
    check(any("project" in e for e in events) and any("project" not in e for e in events),
          "project should be present on some events and absent on others")


def test_every_type_present(binary):
    sim = Sim(binary, "--admin-key", KEY, "--backlog", "5000", "--unknown-types", "0.01",
              "--end-time", str(END), "--seed", "7")
    try:
        lines = sim.ids([("tenant_only", "all"), ("format", "tsv")])
        present = {line.split("\t")[2] for line in lines}
        missing = set(DOCUMENTED_TYPES + LEGACY_TYPES + UNKNOWN_TYPES) - present
        check(not missing, f"types missing from a 5000-event backlog: {sorted(missing)}")
        check(len(DOCUMENTED_TYPES) == 145, "the test's enum list is incomplete")
        # Also through the API itself (both scopes), not just the control listing.
        seen = set()
        for scope in ("false", "true"):
            items, _ = sim.list_all([("tenant_only", scope)])
            seen |= {e["type"] for e in items}
        check(seen == present, "the API does not serve every type the store holds")
        weights = {}
        for line in lines:
            weights[line.split("\t")[2]] = weights.get(line.split("\t")[2], 0) + 1
        check(weights["login.succeeded"] > 10 * weights["tenant.policy.created"],
              "logins should be far more common than tenant events")
        # Unknown types are filterable like any other type the server knows.
        unknown = sim.list([("event_types[]", "quantum.teleported")])
        check(unknown["data"] and all(e["type"] == "quantum.teleported" for e in unknown["data"]),
              "unknown type filter")
    finally:
        sim.stop()


def test_faults(sim):
    path = "/v1/organization/audit_logs"
    auth = {"Authorization": "Bearer " + KEY}
    normal_first = sim.list([("limit", "5")])

    sim.fault(kind="429", retry_after_secs=2, retry_after_ms=1500)
    status, headers, body = sim.api(path)
    check(status == 429 and headers.get("retry-after") == "2"
          and headers.get("retry-after-ms") == "1500", f"429 {status} {headers}")
    check(json.loads(body)["error"]["code"] == "rate_limit_exceeded", "429 body")
    sim.fault(kind="429")
    status, headers, _ = sim.api(path)
    check(status == 429 and "retry-after" not in headers and "retry-after-ms" not in headers,
          "429 without Retry-After")

    for kind, code in (("500", 500), ("503", 503)):
        sim.fault(kind=kind, count=2)
        for _ in range(2):
            status, _, body = sim.api(path)
            check(status == code and json.loads(body)["error"]["type"] == "server_error", kind)
        check(sim.api(path)[0] == 200, f"{kind} count=2 lasted longer than two requests")

    sim.fault(kind="slow", delay_ms=400)
    started = time.monotonic()
    status, _, body = sim.api(path, [("limit", "5")])
    check(time.monotonic() - started >= 0.4 and status == 200
          and json.loads(body) == normal_first, "slow")

    sim.fault(kind="malformed")
    status, _, body = sim.api(path)
    check(status == 200, "malformed status")
    try:
        json.loads(body)
        raise Failure("malformed fault returned valid JSON")
    except json.JSONDecodeError:
        pass

    sim.fault(kind="truncated")
    try:
        sim.request("GET", path, headers=auth)
        raise Failure("truncated fault returned a complete body")
    except http.client.IncompleteRead:
        pass

    sim.fault(kind="wrong_types")
    page = json.loads(sim.api(path)[2])
    check(isinstance(page["data"][0]["id"], int) and isinstance(page["data"][0]["effective_at"],
          str) and isinstance(page["has_more"], str), "wrong_types")

    sim.fault(kind="missing_data")
    page = json.loads(sim.api(path)[2])
    check("data" not in page and page["object"] == "list", "missing_data")

    sim.fault(kind="has_more_empty")
    page = json.loads(sim.api(path)[2])
    check(page["data"] == [] and page["has_more"] is True and page["last_id"] is None,
          "has_more_empty")

    sim.fault(kind="loop_cursor")
    page = sim.list([("limit", "5"), ("after", normal_first["last_id"])])
    check(page["data"] == normal_first["data"] and page["has_more"] is True, "loop_cursor")

    sim.fault(kind="drop_connection")
    try:
        sim.request("GET", path, headers=auth, fresh=True)
        raise Failure("drop_connection answered")
    except (http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine):
        pass

    # Faults are consumed by authenticated list requests only, in order.
    sim.fault(kind="500")
    check(sim.api(path, key="bad")[0] == 401, "auth comes before faults")
    check(sim.stats()["faults_pending"] == 1, "a 401 consumed a fault")
    check(sim.api(path)[0] == 500, "fault after a 401")
    sim.fault(kind="503", count=3)
    check(sim.stats()["faults_pending"] == 3, "faults_pending")
    sim.control("POST", "/_sim/clear?what=faults")
    check(sim.stats()["faults_pending"] == 0 and sim.api(path)[0] == 200, "clear faults")
    status, _, _ = sim.request("POST", "/_sim/fault", body=b'{"kind":"teapot"}')
    check(status == 400, "unknown fault kind accepted")

    recent = json.loads(sim.control("GET", "/_sim/requests?limit=3"))["requests"]
    check(len(recent) == 3 and recent[-1]["status"] == 200 and recent[-1]["fault"] is None
          and recent[-2]["fault"] == "500" and recent[-2]["target"].startswith(path), "requests")


def test_organization_logs(sim, backlog):
    endpoint = "/v1/organization_logs"
    stored = {line.split("\t")[0]: int(line.split("\t")[1])
              for line in sim.ids([("tenant_only", "all"), ("format", "tsv")])}
    items, _ = sim.list_all([("order", "asc")], limit=100, endpoint=endpoint)
    ids = [e["id"] for e in items]
    check(len(set(ids)) == len(ids) and set(ids) == set(stored),
          "order=asc paging does not yield every stored event exactly once")
    check(all(e["created_at"] == stored[e["id"]] for e in items), "created_at is not effective_at")
    # The backlog is ingested first, in ascending time; later batches follow it.
    check(len(items) > backlog, "fewer events than the backlog")
    created = [e["created_at"] for e in items[:backlog]]
    check(created == sorted(created), "the backlog is not listed in ascending created_at")
    desc, _ = sim.list_all([], limit=100, endpoint=endpoint)
    check([e["id"] for e in desc] == list(reversed(ids)), "default order is not the reverse of asc")
    small, _ = sim.list_all([("order", "asc")], limit=7, endpoint=endpoint)
    check([e["id"] for e in small] == ids, "limit=7 paging differs")

    # Append-only: events added later come after the last id, even with the oldest created_at.
    oldest = min(stored.values())
    late = json.loads(sim.control("POST", f"/_sim/generate?count=3&at={oldest}&type=user.added"))
    newer = json.loads(sim.control(
        "POST", f"/_sim/generate?count=2&at={END + 9000}&type=login.failed"))
    status, _, body = sim.api(endpoint, [("order", "asc"), ("after", ids[-1]), ("limit", "100")])
    page = json.loads(body)
    check(status == 200 and [e["id"] for e in page["data"]] == sorted(late["ids"]) + sorted(
        newer["ids"]) and page["has_more"] is False, "events added later are not after the cursor")
    check(page["first_id"] == page["data"][0]["id"] and page["last_id"] == page["data"][-1]["id"],
          "first_id/last_id")
    check(all(e["created_at"] == oldest for e in page["data"][:3]), "late created_at")
    tail = json.loads(sim.api(endpoint, [("order", "asc"), ("after", page["last_id"])])[2])
    check(tail["data"] == [] and tail["has_more"] is False and tail["first_id"] is None
          and tail["last_id"] is None, "after the newest event should be empty")
    # `before` walks back; order=desc with after walks toward older ingestion.
    middle = len(ids) // 2
    before = json.loads(sim.api(endpoint, [("order", "asc"), ("before", ids[middle]),
                                           ("limit", "10")])[2])
    check([e["id"] for e in before["data"]] == ids[middle - 10:middle] and before["has_more"],
          "before= in ingestion order")
    desc_after = json.loads(sim.api(endpoint, [("after", ids[middle]), ("limit", "5")])[2])
    check([e["id"] for e in desc_after["data"]] == list(reversed(ids[middle - 5:middle])),
          "order=desc after=")

    for e in items:
        check(isinstance(e["event"], str) and isinstance(e["created_at"], int)
              and isinstance(e["success"], bool) and "type" not in e, "seed fields")
        check(set(e["actor"]) == {"type", "id", "name"} and set(e["target"]) == {"type", "id",
              "name"}, "seed actor/target shape")
        check(e["success"] == (not e["event"].endswith(".failed")), "success flag")
    requests = [e["api_request"] for e in items if "api_request" in e]
    check(requests and all(set(r) == {"id", "model", "response_body_truncated",
                                      "prompt_truncated"} for r in requests), "api_request")
    status, _, body = sim.api(endpoint + "/" + items[3]["id"])
    check(status == 200 and json.loads(body) == items[3], "get by id")
    status, _, body = sim.api(endpoint + "/audit_log-0000000000000000")
    error = json.loads(body)["error"]
    check(status == 404 and error["param"] == "id" and error["message"], "get unknown id")
    check(sim.api(endpoint + "/" + items[3]["id"], key="wrong")[0] == 401, "get without the key")
    check(sim.api(endpoint, [("order", "sideways")])[0] == 400, "order=sideways")
    for value in ("0", "101", "x"):
        status, _, body = sim.api(endpoint, [("limit", value)])
        check(status == 400 and json.loads(body)["error"]["param"] == "limit", f"limit={value}")
    status, _, body = sim.api(endpoint, [("after", "audit_log-0000000000000000")])
    check(status == 400 and json.loads(body)["error"]["param"] == "after", "unknown after id")


def test_organization_logs_faults(sim):
    endpoint = "/v1/organization_logs"
    auth = {"Authorization": "Bearer " + KEY}
    asc = [("order", "asc"), ("limit", "5")]
    first = json.loads(sim.api(endpoint, asc)[2])
    second = json.loads(sim.api(endpoint, asc + [("after", first["last_id"])])[2])

    sim.fault(kind="429", retry_after_secs=3)
    status, headers, _ = sim.api(endpoint, asc)
    check(status == 429 and headers.get("retry-after") == "3", "429 on the variant")
    for kind, code in (("500", 500), ("503", 503)):
        sim.fault(kind=kind)
        check(sim.api(endpoint, asc)[0] == code, f"{kind} on the variant")

    sim.fault(kind="loop_cursor")
    looped = json.loads(sim.api(endpoint, asc + [("after", first["last_id"])])[2])
    check(looped["data"] == first["data"] and looped["last_id"] == first["last_id"]
          and looped["has_more"] is True, "loop_cursor must repeat the page ending at after")
    check(json.loads(sim.api(endpoint, asc + [("after", first["last_id"])])[2]) == second,
          "loop_cursor lasted longer than one request")

    sim.fault(kind="has_more_empty")
    page = json.loads(sim.api(endpoint, asc)[2])
    check(page["data"] == [] and page["has_more"] is True and page["last_id"] is None,
          "has_more_empty on the variant")

    sim.fault(kind="malformed")
    try:
        json.loads(sim.api(endpoint, asc)[2])
        raise Failure("malformed fault returned valid JSON on the variant")
    except json.JSONDecodeError:
        pass

    sim.fault(kind="truncated")
    try:
        sim.request("GET", endpoint + "?order=asc", headers=auth)
        raise Failure("truncated fault returned a complete body on the variant")
    except http.client.IncompleteRead:
        pass

    sim.fault(kind="wrong_types")
    page = json.loads(sim.api(endpoint, asc)[2])
    e = page["data"][0]
    check(isinstance(e["id"], int) and isinstance(e["event"], list)
          and isinstance(e["created_at"], str) and isinstance(page["has_more"], str),
          "wrong_types on the variant")

    sim.fault(kind="missing_data")
    check("data" not in json.loads(sim.api(endpoint, asc)[2]), "missing_data on the variant")

    sim.fault(kind="drop_connection")
    try:
        sim.request("GET", endpoint, headers=auth, fresh=True)
        raise Failure("drop_connection answered on the variant")
    except (http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine):
        pass

    # Get-by-id takes faults from the same queue; a 401 consumes none.
    one = endpoint + "/" + first["data"][0]["id"]
    sim.fault(kind="500")
    check(sim.api(one, key="bad")[0] == 401 and sim.stats()["faults_pending"] == 1,
          "a 401 on get-by-id consumed a fault")
    check(sim.api(one)[0] == 500, "500 on get-by-id")
    sim.fault(kind="wrong_types")
    obj = json.loads(sim.api(one)[2])
    check(isinstance(obj["id"], int) and isinstance(obj["event"], list), "wrong_types on get")
    sim.fault(kind="truncated")
    try:
        sim.request("GET", one, headers=auth)
        raise Failure("truncated fault returned a complete object")
    except http.client.IncompleteRead:
        pass
    check(json.loads(sim.api(one)[2]) == first["data"][0], "get-by-id after the faults")
    recent = json.loads(sim.control("GET", "/_sim/requests?limit=2"))["requests"]
    check(recent[0]["endpoint"] == "organization_log" and recent[0]["fault"] == "truncated",
          "requests log of get-by-id")


def test_determinism(binary):
    args = ["--admin-key", KEY, "--backlog", "3000", "--end-time", str(END), "--seed", "42"]
    outputs = []
    for _ in range(2):
        sim = Sim(binary, *args)
        try:
            outputs.append((sim.ids([("tenant_only", "all"), ("format", "tsv")]),
                            sim.api("/v1/organization/audit_logs", [("limit", "100")])[2]))
        finally:
            check(sim.stop() == 0, "SIGTERM should exit 0")
    check(outputs[0] == outputs[1], "same seed and flags gave different events")
    other = Sim(binary, "--admin-key", KEY, "--backlog", "3000", "--end-time", str(END),
                "--seed", "43")
    try:
        check(other.ids([("tenant_only", "all")]) != [l.split("\t")[0] for l in outputs[0][0]],
              "a different seed gave the same events")
    finally:
        other.stop()


def test_rate(binary):
    sim = Sim(binary, "--admin-key", KEY, "--rate", "50")
    try:
        deadline = time.monotonic() + 20
        while sim.stats()["events_total"] < 20:
            check(time.monotonic() < deadline, "--rate did not add events")
            time.sleep(0.05)
        newest = sim.list([("limit", "1")])["data"]
        check(newest and abs(newest[0]["effective_at"] - time.time()) < 30,
              "--rate events are not stamped now")
    finally:
        sim.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", required=True)
    args = parser.parse_args()
    binary = os.path.join(args.build_dir, "tests", "openai_sim")
    if not os.access(binary, os.X_OK):
        print(f"SKIP: {binary} is not built")
        return 77

    failures = 0

    def run(name, fn, *fn_args):
        nonlocal failures
        started = time.monotonic()
        try:
            fn(*fn_args)
            print(f"ok   {name} ({time.monotonic() - started:.1f}s)")
        except Exception as error:  # report every test, then fail
            failures += 1
            print(f"FAIL {name}: {type(error).__name__}: {error}")

    with tempfile.TemporaryDirectory() as workdir:
        sim = Sim(binary, "--admin-key", KEY, "--backlog", str(BACKLOG), "--span-secs", "7200",
                  "--end-time", str(END), "--seed", "3")
        try:
            run("auth", test_auth, sim)
            run("limit_bounds", test_limit_bounds, sim)
            events = []
            run("order_and_complete_paging",
                lambda: events.extend(test_order_and_complete_paging(sim)))
            run("shapes", test_shapes, sim, events)
            run("time_filters", test_time_filters, sim)
            run("array_filters", test_array_filters, sim)
            run("tenant_scope", test_tenant_scope, sim)
            run("same_second_tie_across_pages", test_same_second_tie_across_pages, sim)
            run("late_indexed_events", test_late_indexed_events, sim, events)
            run("faults", test_faults, sim)
            run("organization_logs", test_organization_logs, sim, BACKLOG)
            run("organization_logs_faults", test_organization_logs_faults, sim)
        finally:
            code = sim.stop()
        run("exit_code_on_sigterm", lambda: check(code == 0, f"exit code {code}"))
        run("key_file_rotation", test_key_file_rotation, binary, workdir)
        run("every_type_present", test_every_type_present, binary)
        run("determinism", test_determinism, binary)
        run("rate", test_rate, binary)
    print("FAILED" if failures else "PASSED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
