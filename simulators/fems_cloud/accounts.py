"""Cloud accounts: a login and a role per edge (notes §3.3: roles are checked per edge)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..fems_rest import Role


@dataclass(slots=True)
class CloudUser:
    """A FENECON portal login; `global_role` (FENECON staff) applies to every edge."""

    username: str
    password: str
    edge_roles: dict[str, Role] = field(default_factory=dict)
    global_role: Role | None = None

    def role_for(self, edge_id: str) -> Role | None:
        """The user's role on the edge, or `None` if the edge is not theirs to see."""
        return self.global_role if self.global_role is not None else self.edge_roles.get(edge_id)


def default_users(edge_ids: Iterable[str]) -> list[CloudUser]:
    """One login per role: guest sees only the first edge, admin sees every edge."""
    ids = list(edge_ids)

    def on_all(role: Role) -> dict[str, Role]:
        return dict.fromkeys(ids, role)

    return [
        CloudUser("guest@example.com", "guest", {ids[0]: Role.GUEST} if ids else {}),
        CloudUser("owner@example.com", "owner", on_all(Role.OWNER)),
        CloudUser("installer@example.com", "installer", on_all(Role.INSTALLER)),
        CloudUser("admin@example.com", "admin", global_role=Role.ADMIN),
    ]


def by_username(users: Iterable[CloudUser]) -> dict[str, CloudUser]:
    """Users keyed by login; a login occurs once."""
    keyed: dict[str, CloudUser] = {}
    for user in users:
        if user.username in keyed:
            raise ValueError(f"duplicate login {user.username!r}")
        keyed[user.username] = user
    return keyed


__all__ = ["CloudUser", "Role", "by_username", "default_users"]
