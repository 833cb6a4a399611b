"""A small model of NetworkPolicy semantics: who may open a connection to whom in a render.

It follows the API's rules. A pod selected by a policy that lists a direction in its
policyTypes is isolated in that direction and gets only what a rule of those policies
allows; a connection needs the source's egress and the destination's ingress. A rule's
peers are alternatives; within a peer, namespaceSelector and podSelector must both match,
and a peer without namespaceSelector means the policy's own namespace. No peers: any peer.
No ports: every port. A named port is the destination pod's container port of that name.

Not modelled, and so never relied on by the tests: node-local traffic (kubelet probes,
always admitted), hostNetwork pods, endPort, and whether a CNI enforces any of it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.k8s.charts import NAMESPACE, Manifest, by_kind

Selector = Mapping[str, Any]


@dataclass(frozen=True)
class Endpoint:
    """A pod (``pod=True``) or an address outside the cluster's pods."""

    name: str
    ip: str
    labels: Mapping[str, str] = field(default_factory=dict)
    namespace: str = NAMESPACE
    ports: Mapping[str, int] = field(default_factory=dict)
    pod: bool = True

    @property
    def namespace_labels(self) -> dict[str, str]:
        """The label every namespace carries since Kubernetes 1.22."""
        return {"kubernetes.io/metadata.name": self.namespace}


def selects(selector: Selector, labels: Mapping[str, str]) -> bool:
    """A label selector: matchLabels and every matchExpression; ``{}`` selects all."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        present = key in labels
        matched = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[operator]
        if not matched:
            return False
    return True


def _peer_matches(peer: Mapping[str, Any], other: Endpoint) -> bool:
    if "ipBlock" in peer:
        address = ipaddress.ip_address(other.ip)
        block = peer["ipBlock"]
        inside = address in ipaddress.ip_network(block["cidr"])
        excepted = any(address in ipaddress.ip_network(e) for e in block.get("except") or [])
        return inside and not excepted
    if not other.pod:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], other.namespace_labels):
            return False
    elif other.namespace != NAMESPACE:
        return False
    return selects(peer.get("podSelector") or {}, other.labels)


def _port_matches(rule: Mapping[str, Any], port: int, protocol: str, dest: Endpoint) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    for item in ports:
        if item.get("protocol", "TCP") != protocol:
            continue
        wanted = item.get("port")
        if wanted is None or wanted == port:
            return True
        if isinstance(wanted, str) and dest.ports.get(wanted) == port:
            return True
    return False


def _admitted(
    policies: list[Manifest],
    subject: Endpoint,
    direction: str,
    other: Endpoint,
    port: int,
    protocol: str,
    dest: Endpoint,
) -> bool:
    kind, peers_key = ("Ingress", "from") if direction == "ingress" else ("Egress", "to")
    applying = [
        p
        for p in policies
        if subject.pod
        and subject.namespace == NAMESPACE
        and selects(p["spec"]["podSelector"], subject.labels)
        and kind in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not applying:
        return True  # not isolated in this direction
    for policy in applying:
        for rule in policy["spec"].get(direction) or []:
            peers = rule.get(peers_key)
            peer_ok = not peers or any(_peer_matches(peer, other) for peer in peers)
            if peer_ok and _port_matches(rule, port, protocol, dest):
                return True
    return False


def egress_allows(
    manifests: list[Manifest], src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP"
) -> bool:
    """Whether ``src``'s own policies let it open that connection, whatever ``dst`` admits."""
    policies = by_kind(manifests, "NetworkPolicy")
    return _admitted(policies, src, "egress", dst, port, protocol, dst)


def connects(
    manifests: list[Manifest], src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP"
) -> bool:
    """Whether the rendered policies let ``src`` open a connection to ``dst`` on ``port``."""
    policies = by_kind(manifests, "NetworkPolicy")
    ingress = _admitted(policies, dst, "ingress", src, port, protocol, dst)
    return egress_allows(manifests, src, dst, port, protocol) and ingress


def pod_of(manifest: Manifest, ip: str) -> Endpoint:
    """The pod a rendered Deployment, Job or CronJob makes: its template's labels and named
    ports."""
    spec = manifest["spec"]
    template = (
        spec["jobTemplate"]["spec"]["template"] if "jobTemplate" in spec else spec["template"]
    )
    ports = {
        port["name"]: port["containerPort"]
        for container in template["spec"]["containers"]
        for port in container.get("ports", [])
        if "name" in port
    }
    return Endpoint(manifest["metadata"]["name"], ip, template["metadata"]["labels"], ports=ports)
