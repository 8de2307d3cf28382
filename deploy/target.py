"""What is deployed where: the project and region, each function's access, secrets and settings."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.config import Config
from shared.config.settings import Secret, variables

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = "python312"      # a current Cloud Functions Python runtime (2nd gen)
MEMORY = "256Mi"
TIMEOUT_SECONDS = 60       # the sweep ends within it (shared/sweep: 30 s of sends, 10 s of polling, 10 of probes)
MAX_INSTANCES = 5          # a team of five: enough for a burst of alerts, a ceiling on a runaway bill
# Instances kept warm (--min-instances) come from the team file's deploy.min_instances, none by default: the
# team's guide chose only free tiers, and one idle instance is billed around the clock at Cloud Run's idle rate
# (ingest and interactions warm: about $5.50 a month instead of about $0.15). A cold ingest answers its first alert
# about 0.6 s after starting on a quiet machine (`./deploy.sh bench cold`), inside Sentry's 1 s but with little
# to spare on 0.167 vCPU; a team that sees Sentry or Discord (3 s) give up on cold starts keeps those two warm.

# Who may call each function. An unknown function (a new folder in functions/) is deployed PRIVATE: nobody but
# the project's owners can call it until it is classified here; the plan says so.
PUBLIC = "public"            # anyone: the function authenticates each request itself (signature, token, cookie)
SCHEDULER = "scheduler"      # only Cloud Scheduler's OIDC token, from the scheduler service account
PRIVATE = "private"          # nobody (IAM-authenticated project owners only)
ACCESS = {"ingest": PUBLIC, "interactions": PUBLIC, "status": PUBLIC, "console": PUBLIC, "api": PUBLIC,
          "escalate": SCHEDULER, "daily_summary": SCHEDULER}

# Secrets a function must have for the product to work at all; the other secret settings are optional
# (an unset channel shows its messages in the logs).
REQUIRED_SECRETS = ("SENTRY_CLIENT_SECRET", "INGEST_TOKEN", "API_TOKEN")
# Secret although not typed Secret in Settings: a routing key authenticates PagerDuty events.
EXTRA_SECRETS = ("PAGERDUTY_ROUTING_KEYS",)
# Every other function gets every secret that exists: the settings are one model read across shared/, and a
# secret changes behaviour beyond the obvious function (UPTIMEROBOT_API_KEY also changes how ingest names an
# UptimeRobot event's claim), so a per-function list would silently drift. Functions that read no secret at all
# get none (the public status page).
NO_SECRETS = frozenset({"status"})
# Settings given as plain environment variables when the team file's deploy.env names them.
EXTRA_ENV = ("LOG_LEVEL",)

RUNTIME_SA = "incidents-runtime"      # what the functions run as: Firestore and the secrets, nothing else
SCHEDULER_SA = "incidents-scheduler"  # what Cloud Scheduler's OIDC token names: invoker of two functions only
TEAM_FILE = "team.yaml"               # the team file's name in each staged folder


def secret_names() -> tuple[str, ...]:
    """Return every setting that is a secret, in Settings' order (new Secret fields are picked up)."""
    names = [name for name, f in variables().items() if isinstance(f.default, Secret)]
    return tuple(names + [n for n in EXTRA_SECRETS if n not in names])


def plain_settings() -> tuple[str, ...]:
    """Return the settings that may be given as plain environment variables."""
    secret = set(secret_names())
    return tuple(name for name in variables() if name not in secret) + EXTRA_ENV


def functions_url(project: str, region: str) -> str:
    """Return the base URL 2nd gen functions are served under (https://cloud.google.com/functions/docs/calling/http)."""
    return f"https://{region}-{project}.cloudfunctions.net"


def discover(root: Path = ROOT) -> list[str]:
    """Return every function in functions/ (a folder with a main.py), sorted."""
    return sorted(p.parent.name for p in (root / "functions").glob("*/main.py"))


def service_name(function: str) -> str:
    """Return the Cloud Run service behind a 2nd gen function (no underscores there)."""
    return function.replace("_", "-")


@dataclass(frozen=True)
class Function:
    name: str
    access: str
    known: bool                        # listed in ACCESS (an unknown one is private and named in the plan)
    secrets: tuple[str, ...]           # the secrets it is given, of those that exist
    min_instances: int = 0             # instances kept warm (the team file's deploy.min_instances)


@dataclass(frozen=True)
class Target:
    project: str
    region: str
    functions: tuple[Function, ...]
    env: dict[str, str]                # plain settings for every function
    problems: tuple[str, ...] = ()     # what the team file's deploy section gets wrong
    team_file: Path | None = None

    @property
    def pid(self) -> str:
        """Return the project id, or a placeholder in a plan that has none yet."""
        return self.project or "PROJECT"

    @property
    def runtime_sa(self) -> str:
        return f"{RUNTIME_SA}@{self.pid}.iam.gserviceaccount.com"

    @property
    def scheduler_sa(self) -> str:
        return f"{SCHEDULER_SA}@{self.pid}.iam.gserviceaccount.com"

    def function(self, name: str) -> Function:
        return next(f for f in self.functions if f.name == name)


def build(cfg: Config, team_file: Path, project: str | None, region: str | None, names: list[str],
          existing_secrets: set[str] | None) -> Target:
    """Return the target: flags over the team file's deploy section; secrets limited to those that exist
    (all of them when that is unknown, as in a plan without credentials)."""
    problems = []
    env = {}
    allowed = set(plain_settings())
    for key, value in sorted(cfg.deploy.env.items()):
        if key in secret_names():
            problems.append(f"deploy.env.{key}: a secret: create it in Secret Manager instead of the team file")
        elif key == "GOOGLE_CLOUD_PROJECT" or key == "INCIDENT_CONFIG":
            problems.append(f"deploy.env.{key}: set by the deploy itself; remove it")
        elif key not in allowed:
            problems.append(f"deploy.env.{key}: not a setting the functions read")
        else:
            env[key] = str(value)
    project, region = project or cfg.deploy.project, region or cfg.deploy.region
    # the status page's links start here; the team file's deploy.env.PUBLIC_URL wins (a domain of the team's own)
    env = {"GOOGLE_CLOUD_PROJECT": project or "PROJECT", "INCIDENT_CONFIG": TEAM_FILE,
           "PUBLIC_URL": functions_url(project or "PROJECT", region), **env}
    available = [s for s in secret_names() if existing_secrets is None or s in existing_secrets]
    functions = tuple(Function(name, ACCESS.get(name, PRIVATE), name in ACCESS,
                               () if name in NO_SECRETS else tuple(available),
                               cfg.deploy.min_instances.get(name, 0))
                      for name in names)
    return Target(project=project, region=region, functions=functions, env=env,
                  problems=tuple(problems), team_file=team_file)
