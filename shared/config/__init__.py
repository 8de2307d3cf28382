"""The team's configuration: one YAML file (the team, its services, severities, SLAs, rotation, channels),
validated once; the environment (settings.py); the schedule table (schedule.py); what each channel can do
(channels.py).

  schema.py    every key of the team file, its type and its checks
  units.py     clock times, durations, SLA terms, silence matchers, and the helpers rules use on them
  loading.py   reading the file (INCIDENT_CONFIG, or teams/petties.yaml) with errors that name the key
"""
from shared.config.loading import DEFAULT_CONFIG, ConfigError, config, load_config, parse_config, use
from shared.config.schema import (
    ROLE_TARGETS,
    AlertmanagerSource,
    BusinessHours,
    Config,
    DailySummary,
    Deploy,
    Environment,
    Escalation,
    HealthCheck,
    MaintenanceWindow,
    Notifications,
    Person,
    Probes,
    Rotation,
    Route,
    RouteChannel,
    SentryStats,
    Service,
    SeverityConfig,
    SeverityRule,
    SilenceSettings,
    SlaTarget,
    Sources,
    Sprint,
    Team,
    WeeklyWindow,
)
from shared.config.units import (
    DURATION,
    MATCHER_KEYS,
    SEVERITY_NAMES,
    SLA_SPECIAL,
    check_matchers,
    duration,
    seconds,
)

__all__ = ["DEFAULT_CONFIG", "DURATION", "MATCHER_KEYS", "ROLE_TARGETS", "SEVERITY_NAMES", "SLA_SPECIAL",
           "AlertmanagerSource", "BusinessHours", "Config", "ConfigError", "DailySummary", "Deploy", "Environment",
           "Escalation", "HealthCheck", "MaintenanceWindow", "Notifications", "Person", "Probes", "Rotation", "Route",
           "RouteChannel", "SentryStats", "Service", "SeverityConfig", "SeverityRule", "SilenceSettings", "SlaTarget",
           "Sources", "Sprint", "Team", "WeeklyWindow", "check_matchers", "config", "duration", "load_config",
           "parse_config", "seconds", "use"]
