"""The team file's schema: every key, its type and its checks, with Config at the top.

Plain immutable dataclasses (config/frozen.py): pydantic validates a team file against them (loading.py), and a
function that starts from the deploy's checked form builds them without pydantic (checked.py). A key's checks
ride on its type (units.Check); checks across keys are in __post_init__, which runs either way.
"""
from __future__ import annotations

from dataclasses import field
from datetime import date, datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.config.channels import CAPABILITIES
from shared.config.frozen import frozen
from shared.config.units import AT_LEAST_ONE, Check, ClockTime, Day, Duration, Matchers, SlaTerm, _hhmm, between
from shared.errors import BadInput

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SeverityName = Literal["critical", "high", "medium", "low"]


record = frozen(kw_only=True)   # every part of the team file: immutable, keys by name


class _Strict:
    __pydantic_config__ = {"extra": "forbid"}   # an unknown key is an error (pydantic's config for a dataclass)


def _known_zone(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {v!r}") from None
    return v


def _http_url(v: str) -> str:
    if not v.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// or https:// URL, e.g. https://shop.example/health, got {v[:80]!r}")
    return v


def _not_empty(v: str) -> str:
    if not v:
        raise ValueError("expected a name, got an empty text")
    return v


@record
class BusinessHours(_Strict):
    days: list[Weekday]
    start: ClockTime
    end: ClockTime

    @property
    def start_time(self) -> time:
        return _hhmm(self.start)

    @property
    def end_time(self) -> time:
        return _hhmm(self.end)


@record
class Team(_Strict):
    name: str
    time_zone: Annotated[str, Check(_known_zone)]
    business_hours: BusinessHours
    holidays: list[Day] = field(default_factory=list)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@record
class Person(_Strict):
    id: str
    name: str
    role: str = "developer"
    email: str | None = None
    discord_id: str | None = None
    phone: str | None = None
    github: str | None = None        # GitHub login: who closed or reopened an issue on GitHub
    slack_id: str | None = None      # Slack member id (U...): mentioned in Slack messages
    ntfy_topic: str | None = None    # ntfy topic whose subscribers (this person's phone) get push pages


@record
class Handover(_Strict):
    weekday: Weekday = "mon"
    time: ClockTime = "09:00"


@record
class Rotation(_Strict):
    order: Annotated[list[str], AT_LEAST_ONE]
    handover: Handover = Handover()
    start: Day


@record
class HealthCheck(_Strict):
    """A health URL the sweep probes (Probes); two failures in a row open an incident, source `probe`."""
    url: Annotated[str, Check(_http_url)]
    expect_status: Annotated[int, between(100, 599)] = 200
    expect_text: str = ""                       # optional: the body must contain it
    timeout_seconds: Annotated[float, between(0, 30, above_low=True)] = 10.0


@record
class Service(_Strict):
    name: str
    description: str = ""
    url: str = ""
    logs_url: str = ""          # shown as "Logs:" in alerts
    dashboard_url: str = ""     # shown as "Dashboard:" in alerts
    sentry_projects: list[str] = field(default_factory=list)
    monitors: list[str] = field(default_factory=list)
    health: list[HealthCheck] = field(default_factory=list)   # probed by the sweep (see `probes`)


@record
class Environment(_Strict):
    aliases: list[str] = field(default_factory=list)
    max_severity: SeverityName | None = None
    sentry_projects: list[str] = field(default_factory=list)
    monitors: list[str] = field(default_factory=list)


@record
class SeverityRule(_Strict):
    name: str
    severity: SeverityName
    keywords: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    environments: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    min_users: int | None = None
    min_occurrences: int | None = None
    min_rate_per_minute: float | None = None

    def __post_init__(self) -> None:
        conditions = (self.keywords, self.levels, self.sources, self.services, self.environments, self.tags,
                      self.min_users, self.min_occurrences, self.min_rate_per_minute)
        if not any(c not in (None, [], {}) for c in conditions):
            raise ValueError(f"rule {self.name!r} has no condition and would match every alert")


@record
class SeverityConfig(_Strict):
    levels: dict[str, dict[str, SeverityName]] = field(default_factory=dict)
    default: SeverityName = "medium"
    rules: list[SeverityRule] = field(default_factory=list)


TemplateName = Literal["critical", "high", "warning"]
AfterHours = Literal["send", "hold"]
ROLE_TARGETS = ("on-call", "team-lead")


@record
class RouteChannel(_Strict):
    channel: str                              # a channel of shared/config/channels.py (discord, email, github, ...)
    template: TemplateName | None = None      # default: by severity (critical, high, else warning)
    mention: list[str] = field(default_factory=list)   # on-call, team-lead or person ids (channels that name people)
    # addressed channels (email, ntfy): on-call, team-lead, person ids or (email) addresses; required there, since
    # nobody to address means no send
    to: list[str] = field(default_factory=list)
    after_hours: AfterHours | None = None     # default: the route's


@record
class Route(_Strict):
    environments: Annotated[list[str], AT_LEAST_ONE]   # "*" matches any environment
    severities: Annotated[list[SeverityName], AT_LEAST_ONE]
    after_hours: AfterHours = "hold"
    channels: list[RouteChannel] = field(default_factory=list)


@record
class Notifications(_Strict):
    milestones: list[int] = field(default_factory=lambda: [10, 100, 1000])
    critical_emails: list[str] = field(default_factory=list)           # always copied on Critical email
    routes: list[Route] = field(default_factory=list)


@record
class SlaTarget(_Strict):
    respond: SlaTerm
    resolve: SlaTerm


@record
class Probes(_Strict):
    interval: Duration = "5m"          # how often the sweep probes each health URL
    failures_to_alert: Annotated[int, between(1, 10)] = 2   # failures in a row before an incident opens
    flap_window: Duration = "30m"      # a URL that goes down and up `flap_changes` times in this window
    flap_changes: Annotated[int, between(2, 10**6)] = 4  # is reported once as flapping, not as a stream of alerts


@record
class DailySummary(_Strict):
    time: ClockTime = "09:00"          # local time the report of the previous local day is posted


@record
class SentryStats(_Strict):
    organization: str = ""             # the Sentry organization slug; with SENTRY_API_TOKEN: requests and errors


@record
class Sprint(_Strict):
    start: Day
    length_days: Annotated[int, between(1, 10**6)] = 14


@record
class Escalation(_Strict):
    environments: list[str] = field(default_factory=lambda: ["production"])   # where escalation pages people
    stakeholders_after: SlaTerm = "30m"          # level 3 for a Critical still unacknowledged this long after level 2
    repeat_every: SlaTerm | None = None          # optional reminders while a level stays unanswered


@record
class AlertmanagerSource(_Strict):
    one_incident_per: Literal["alert", "group"] = "alert"   # alert: by fingerprint; group: by groupKey


@record
class Sources(_Strict):
    alertmanager: AlertmanagerSource = AlertmanagerSource()
    grafana: AlertmanagerSource = AlertmanagerSource()


@record
class WeeklyWindow(_Strict):
    days: Annotated[list[Weekday], AT_LEAST_ONE]
    start: ClockTime                  # local time; an end at or before the start runs past midnight
    end: ClockTime


@record
class MaintenanceWindow(_Strict):
    """Planned work: alerts matching `matchers` are stored but page nobody while the window is open."""
    name: Annotated[str, Check(_not_empty)]
    matchers: Matchers
    comment: str = ""
    include_critical: bool = False
    weekly: WeeklyWindow | None = None
    start: datetime | None = None     # one-off; a time without an offset is the team's local time
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.weekly is not None:
            if self.start is not None or self.end is not None:
                raise ValueError(f"maintenance {self.name!r}: give either weekly or start and end, not both")
            if self.weekly.start == self.weekly.end:
                raise ValueError(f"maintenance {self.name!r}: weekly start and end are the same time")
            return
        if self.start is None or self.end is None:
            raise ValueError(f"maintenance {self.name!r}: give weekly (days, start, end) or a one-off start and end")
        if (self.start.tzinfo is None) != (self.end.tzinfo is None):
            raise ValueError(f"maintenance {self.name!r}: give start and end both with or both without an offset")
        if self.end <= self.start:
            raise ValueError(f"maintenance {self.name!r}: end must be after start")


@record
class SilenceSettings(_Strict):
    max_duration: Duration = "7d"     # the longest silence the API accepts


@record
class StatusPage(_Strict):
    """What the public status page shows without a person (shared/rules/status_page.py): `outages` (UptimeRobot
    and health probes: a monitor's down turns its service to a major outage and opens a public incident under a
    neutral title, resolved when the monitor recovers) or `none` (only people's status updates and maintenance
    windows; the uptime bars still count the monitors' outages). No other source ever shows by itself."""
    automatic: Literal["outages", "none"] = "outages"


# The functions `./deploy.sh gcp` deploys (the folders of functions/; tests/test_deploy.py checks they agree), and
# the most instances one may keep warm: its --max-instances (deploy/target.py MAX_INSTANCES).
FUNCTIONS = ("api", "console", "daily_summary", "escalate", "ingest", "interactions", "status")
MAX_WARM = 5


def _warm_functions(v: dict[str, int]) -> dict[str, int]:
    for name, count in v.items():
        if name not in FUNCTIONS:
            raise ValueError(f"no function {name!r} to keep warm; the functions are {', '.join(FUNCTIONS)}")
        if not 0 <= count <= MAX_WARM:
            raise ValueError(f"{name}: {count!r} instances; keep 0 to {MAX_WARM} warm")
    return v


@record
class Deploy(_Strict):
    """Where `./deploy.sh gcp` puts the product (flags --project and --region win over these)."""
    project: str = ""                  # the Google Cloud project id
    region: str = "asia-southeast1"    # Cloud Functions, Cloud Scheduler and Firestore's location
    # non-secret settings given to every function (GITHUB_REPO, EMAIL_FROM, ...)
    env: dict[str, str] = field(default_factory=dict)
    # instances kept warm per function (--min-instances); none by default, so an idle month costs nothing
    min_instances: Annotated[dict[str, int], Check(_warm_functions)] = field(default_factory=dict)


@record
class Config(_Strict):
    team: Team
    people: list[Person]
    team_lead: str
    rotation: Rotation
    stakeholders: list[str] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    default_environment: str = "production"
    environments: dict[str, Environment] = field(default_factory=lambda: {"production": Environment()})
    severity: SeverityConfig = SeverityConfig()
    notifications: Notifications = Notifications()
    sla: dict[SeverityName, SlaTarget] = field(default_factory=lambda: {
        "critical": SlaTarget(respond="15m", resolve="2h"), "high": SlaTarget(respond="1h", resolve="8h"),
        "medium": SlaTarget(respond="4h", resolve="end_of_sprint"),
        "low": SlaTarget(respond="next_business_day", resolve="next_sprint")})
    sprint: Sprint = Sprint(start=date(2025, 12, 29))
    escalation: Escalation = Escalation()
    handoff_notes: list[str] = field(default_factory=list)
    sources: Sources = Sources()
    probes: Probes = Probes()
    daily_summary: DailySummary = DailySummary()
    sentry: SentryStats = SentryStats()
    maintenance: list[MaintenanceWindow] = field(default_factory=list)
    silences: SilenceSettings = SilenceSettings()
    status_page: StatusPage = StatusPage()
    deploy: Deploy = Deploy()

    def __post_init__(self) -> None:
        ids = {p.id for p in self.people}
        if len(ids) != len(self.people):
            raise ValueError("people: two people share an id")
        for where, pid in [("team_lead", self.team_lead), *[("rotation.order", p) for p in self.rotation.order],
                           *[("stakeholders", p) for p in self.stakeholders]]:
            if pid not in ids:
                raise ValueError(f"{where}: {pid!r} is not in people")
        for r, route in enumerate(self.notifications.routes):
            for c, channel in enumerate(route.channels):
                where = f"notifications.routes.{r}.channels.{c}"
                kind = CAPABILITIES.get(channel.channel)
                if kind is None:
                    raise ValueError(f"{where}: unknown channel {channel.channel!r} (known: {', '.join(CAPABILITIES)})")
                if kind.in_step:
                    raise ValueError(f"{where}: {channel.channel} is not a route's channel (it resolves the issue an "
                                     f"incident came from when the incident resolves here); remove it")
                if channel.mention and not kind.mentions:
                    raise ValueError(f"{where}: {channel.channel} does not name people; remove `mention`")
                if bool(channel.to) != kind.addressed:
                    raise ValueError(f"{where}: {channel.channel} " + ("needs `to` (who to address)" if kind.addressed
                                                                      else "is not addressed; remove `to`"))
                for target in channel.mention + channel.to:
                    if target not in ROLE_TARGETS and target not in ids and "@" not in target:
                        raise ValueError(f"{where}: {target!r} is neither on-call, team-lead, a person id nor an "
                                         "email address")
                    if "@" in target and target in channel.to and kind.address != "email":
                        raise ValueError(f"{where}: {channel.channel} reaches people by their {kind.address}: "
                                         f"{target!r} is not on-call, team-lead or a person id")
        if self.default_environment not in self.environments:
            raise ValueError(f"default_environment: {self.default_environment!r} is not in environments")
        names = [s.name for s in self.services]
        if len(set(names)) != len(names):
            raise ValueError("services: two services share a name")
        windows = [w.name for w in self.maintenance]
        if len(set(windows)) != len(windows):
            raise ValueError("maintenance: two windows share a name")

    def person(self, pid: str) -> Person:
        return next(p for p in self.people if p.id == pid)

    def person_id(self, actor: object) -> str:
        """Return the person id for someone given by id, name or Discord user id (case-insensitive); BadInput
        when nobody in the team file matches."""
        wanted = str(actor or "").strip().lower()
        if not wanted:
            raise BadInput("actor is missing: say who is doing this (a person id or name from the team file)")
        for p in self.people:
            if wanted in (p.id.lower(), p.name.lower()) or (p.discord_id and wanted == p.discord_id):
                return p.id
        raise BadInput(f"unknown actor {str(actor)[:80]!r}: use a person id or name from the team file")
