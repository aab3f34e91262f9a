"""council.yml: its schema, and loading it with errors that name the file, the place and the problem."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.errors import ConfigError
from bot.governance import Elector, LimitsSpec, PolicyMatch, Rule, parse_duration, parse_reminders
from bot.governance.feasibility import why_infeasible
from bot.governance.mandate import CurrencyCode

USER_ID_PATTERN = r"^[UW][A-Z0-9]{2,30}$"
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,79}$"
UserId = Annotated[str, StringConstraints(pattern=USER_ID_PATTERN)]
ChannelId = Annotated[str, StringConstraints(pattern=r"^[CG][A-Z0-9]{2,30}$")]
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]


def is_name(text: str) -> bool:
    """Whether text can be the name of a council, agent or policy."""
    return re.fullmatch(NAME_PATTERN, text) is not None


OnTimeout = Literal["reject", "escalate", "extend"]
DEFAULT_DEADLINE = "24h"


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MemberSpec(Spec):
    user: UserId
    function: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, to_lower=True)
    ]
    role: Literal["member", "chair"] = "member"
    delegate: UserId | None = None
    # Away until the end of this day (the council's timezone): `delegate` holds the seat meanwhile.
    away_until: date | None = None

    @model_validator(mode="after")
    def _away_needs_a_delegate(self) -> MemberSpec:
        if self.away_until is not None and self.delegate is None:
            raise ValueError("away_until needs a delegate to hold the seat meanwhile")
        if self.delegate is not None and self.delegate == self.user:
            raise ValueError("a member cannot be their own delegate")
        return self


class DigestSpec(Spec):
    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    time: Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "09:00"


class CouncilSpec(Spec):
    name: Name
    channel: ChannelId
    timezone: str = "UTC"
    digest: DigestSpec = DigestSpec()
    members: list[MemberSpec] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (use an IANA name like Europe/Berlin)") from None
        return value

    @field_validator("members")
    @classmethod
    def _one_seat_each(cls, value: list[MemberSpec]) -> list[MemberSpec]:
        seen: set[str] = set()
        for member in value:
            if member.user in seen:
                raise ValueError(f"member {member.user} is listed twice")
            seen.add(member.user)
        return value


class AgentSpec(Spec):
    name: Name
    owner: UserId
    council: Name | None = None
    currency: CurrencyCode | None = None
    limits: LimitsSpec = LimitsSpec()

    @model_validator(mode="after")
    def _one_currency(self) -> AgentSpec:
        if self.currency and self.limits.currency and self.currency != self.limits.currency:
            raise ValueError(
                f"currency {self.currency} and limits.currency {self.limits.currency} disagree; give one"
            )
        return self

    def mandate(self) -> LimitsSpec:
        """The limits as stored on the agent: the agent's `currency` applies to its plain limits."""
        if self.currency and not self.limits.currency:
            return self.limits.model_copy(update={"currency": self.currency})
        return self.limits


class RouteSpec(Spec):
    """Where an escalation goes and how it is decided; shared by policies and the default."""

    council: Name | None = None
    rule: Rule | None = None
    deadline: str | None = None
    remind: list[str] = Field(default_factory=list)
    on_timeout: OnTimeout = "reject"

    @field_validator("deadline")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _reminders(self) -> RouteSpec:
        parse_reminders(self.remind, self.deadline_seconds())
        return self

    def deadline_seconds(self) -> int:
        return parse_duration(self.deadline or DEFAULT_DEADLINE)


class PolicySpec(RouteSpec):
    name: Name
    match: PolicyMatch = PolicyMatch()
    decide: Literal["approve", "reject"] | None = None


class CouncilFile(Spec):
    admins: list[UserId] = Field(default_factory=list)
    councils: list[CouncilSpec] = Field(default_factory=list)
    agents: list[AgentSpec] = Field(default_factory=list)
    policies: list[PolicySpec] = Field(default_factory=list)
    defaults: RouteSpec | None = None

    @field_validator("admins", "councils", "agents", "policies", mode="before")
    @classmethod
    def _blank_is_empty(cls, value: object) -> object:
        # `agents:` with every entry commented out is YAML's null: an empty section, not a type error.
        return [] if value is None else value

    @model_validator(mode="after")
    def _references(self) -> CouncilFile:
        councils = _unique("councils", [c.name for c in self.councils])
        _unique("agents", [a.name for a in self.agents])
        _unique("policies", [p.name for p in self.policies])
        for i, agent in enumerate(self.agents):
            if agent.council is not None and agent.council not in councils:
                raise ValueError(f"agents[{i}].council: no council named {agent.council!r}")
        for i, policy in enumerate(self.policies):
            if policy.council is not None and policy.council not in councils:
                raise ValueError(f"policies[{i}].council: no council named {policy.council!r}")
        if self.defaults and self.defaults.council and self.defaults.council not in councils:
            raise ValueError(f"defaults.council: no council named {self.defaults.council!r}")
        problems = self._infeasible()
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def missing(self) -> list[str]:
        """The sections an apply needs that are absent or empty: applying would wipe them."""
        return [name for name in ("admins", "councils", "policies") if not getattr(self, name)]

    def _infeasible(self) -> list[str]:
        """Every route that asks for a vote its council can never give, with its path and why."""
        members = {
            c.name: [Elector(user=m.user, function=m.function, role=m.role) for m in c.members]
            for c in self.councils
        }
        fallback = self.defaults or RouteSpec()
        routes: list[tuple[str, RouteSpec, str | None]] = [
            (f"policies[{i}]", p, p.match.agent) for i, p in enumerate(self.policies) if p.decide != "reject"
        ]
        if self.defaults is not None:
            routes.append(("defaults", self.defaults, None))
        problems = []
        for path, spec, only_agent in routes:
            rule = spec.rule or fallback.rule or Rule()
            where = f"{path}.rule" if spec.rule else path
            agents = [a for a in self.agents if only_agent is None or a.name == only_agent]
            named = spec.council or fallback.council
            targets = [named] if named else sorted({a.council for a in agents if a.council})
            for council in targets:
                if council is None:
                    continue
                owners = [a.owner for a in agents if named or a.council == council]
                problem = why_infeasible(rule, members[council], owners)
                if problem:
                    problems.append(f"{where}: can never be satisfied in council {council}: {problem}")
        return problems


def _unique(section: str, names: list[str]) -> set[str]:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(f"{section}[{i}].name: {name!r} is used twice")
        seen.add(name)
    return seen


def _where(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe_errors(error: ValidationError) -> list[str]:
    """Turn pydantic's errors into lines like `policies[1].rule.type: unknown rule 'bogus-rule'`."""
    lines = []
    for item in error.errors(include_url=False):
        message = re.sub(r"^(Value|Assertion) error, ", "", item["msg"])
        loc = tuple(part for part in item["loc"] if not str(part).startswith("function-"))
        where = _where(loc)
        for line in message.split("\n"):
            lines.append(f"{where}: {line}" if where else line)
    return lines


def parse(text: str, *, source: str = "council.yml") -> CouncilFile:
    """Parse council.yml text; raise ConfigError naming the source, the place and the problem."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{source}: {where}{problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping (admins, councils, agents, policies)")
    try:
        return CouncilFile.model_validate(data)
    except ValidationError as error:
        lines = describe_errors(error)
        raise ConfigError(f"{source}: " + "\n".join(lines), details=lines) from None


WIPES = {"admins": "every admin", "councils": "every council", "policies": "every policy"}


def check_complete(config: CouncilFile, *, source: str, hint: str = "give --allow-empty") -> None:
    """Refuse a file without admins, councils or policies: applying it would wipe them.

    An empty or truncated council.yml must not silently remove the auto-approve rule, the veto rule
    and the admins; an admin who means it says so (`hint` says how).
    """
    missing = config.missing()
    if missing:
        wiped = ", ".join(WIPES[name] for name in missing)
        raise ConfigError(
            f"{source}: refused: no {', '.join(missing)} (applying it would remove {wiped}); "
            f"fix the file, or {hint} if that is what you mean"
        )


def load(path: Path) -> CouncilFile:
    """Read and parse a council.yml file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    return parse(text, source=str(path))
