"""Discord interactions: the team runs an incident from its alert's buttons and from slash commands.

A thin transport like the API: every change is a use case (shared/incidents/actions.py, ...), and every refusal a
shared.errors one, answered here as an ephemeral message (only the person who clicked sees it). Discord gives
3 s for the answer, so nothing here waits for a vendor: the thread reply and reaction of a step are outbox
records, sent in the background and retried by the sweep.

Docs: https://discord.com/developers/docs/interactions/receiving-and-responding
"""
from __future__ import annotations

import json
from datetime import datetime

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from shared import errors, oncall, postmortems, silences
from shared.cache import TimedCache
from shared.channels import discord
from shared.channels.render import console_url, discord_text, local_time
from shared.config import Config, config
from shared.config.settings import Settings, settings
from shared.incidents import actions, listing
from shared.model import iso
from shared.notify import delivery
from shared.oncall import handoff
from shared.rules import postmortem as postmortem_rules
from shared.rules.text import clean, quoted, storable_json
from shared.status import updates as status_updates
from shared.web import http

# interaction types and callback types (https://discord.com/developers/docs/interactions/receiving-and-responding)
PING, COMMAND, COMPONENT, AUTOCOMPLETE = 1, 2, 3, 4
PONG, MESSAGE, UPDATE_MESSAGE, CHOICES = 1, 4, 7, 8
EPHEMERAL = 64
MAX_CHOICES = 25
REPLAY_WINDOW = 300      # seconds an interaction's timestamp may be from now (Discord's own clients send at once)
CACHE_SECONDS = 10.0     # autocomplete answers from a list at most this old (it must answer within 3 s)
STATE_CHANGES = {"ack", *actions.PHASES, "resolve", "invalid", "severity", "note", "override", "silence",
                 "unsilence", "status-update"}
# /status-update options -> the status-updates use case's fields (shared/status/updates.py)
STATUS_UPDATE_OPTIONS = {"status": "status", "message": "message", "title": "title", "impact": "impact", "eta": "eta",
                         "every": "next_update_minutes", "component": "component_status"}
POSTMORTEM_SUBS = ("show", "action", "done", "reviewed", "flag")   # /postmortem <sub>: postmortem-<sub>
STATE_CHANGES |= {f"postmortem-{sub}" for sub in POSTMORTEM_SUBS if sub != "show"}
NOT_IN_TEAM = ("Only people in the team file can read or change incidents; ask the team lead to add your Discord "
               "user id.")


def team() -> Config:
    """The team file, looked up at each interaction (tests vary it)."""
    return config()


def verify(settings: Settings, body: bytes, signature: str, timestamp: str, now: datetime) -> None:
    """Check X-Signature-Ed25519 over timestamp + raw body with DISCORD_PUBLIC_KEY, and that the timestamp (Unix
    seconds) is within REPLAY_WINDOW of now; Unauthorized otherwise (Discord probes with bad signatures and drops
    an endpoint that accepts them; a captured interaction cannot be replayed later)."""
    if not settings.discord_public_key:
        raise errors.Unauthorized("DISCORD_PUBLIC_KEY is not configured on the server")
    if not signature or not timestamp:
        raise errors.Unauthorized("missing X-Signature-Ed25519 or X-Signature-Timestamp header")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12) \
            or abs(now.timestamp() - int(timestamp)) > REPLAY_WINDOW:
        raise errors.Unauthorized(f"X-Signature-Timestamp is not within {REPLAY_WINDOW // 60} minutes of now")
    try:
        VerifyKey(bytes.fromhex(settings.discord_public_key)).verify(timestamp.encode() + body,
                                                                     bytes.fromhex(signature))
    except (BadSignatureError, ValueError):
        raise errors.Unauthorized("invalid request signature") from None


def parse(body: bytes) -> dict:
    """Return the interaction as a JSON object, or BadInput saying why not."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise errors.BadInput("body is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), int) or isinstance(data["type"], bool):
        raise errors.BadInput("expected an interaction object with an integer type")
    for field in ("member", "user", "data", "message"):
        if data.get(field) is not None and not isinstance(data[field], dict):
            raise errors.BadInput(f"expected {field} to be an object, got {type(data[field]).__name__}")
    if isinstance(data.get("member"), dict) and data["member"].get("user") is not None \
            and not isinstance(data["member"]["user"], dict):
        raise errors.BadInput(f"expected member.user to be an object, got {type(data['member']['user']).__name__}")
    return storable_json(data)


def say(text: str, ephemeral: bool = True, incident_id: str = "") -> dict:
    """An answer in the channel: a message (ephemeral: only the caller sees it); mentions never ping. About an
    incident, it carries the incident's console page as a link button (when PUBLIC_URL is set)."""
    data = {"content": text[:2000], "allowed_mentions": {"parse": []}}
    if incident_id:
        data = discord.with_link(data, console_url(incident_id, settings().public_url))
    return {"type": MESSAGE, "data": {**data, "flags": EPHEMERAL} if ephemeral else data}


def handle_interaction(interaction: dict, cfg: Config, settings: Settings, now: datetime) -> tuple[dict, list[str]]:
    """Answer one verified interaction; return the answer and the outbox records to deliver now."""
    kind = interaction["type"]
    if kind == PING:
        return {"type": PONG}, []
    # incidents are internal: only people in the team file read them, as only they change them
    who = member(interaction, cfg)
    if kind == AUTOCOMPLETE:
        return {"type": CHOICES, "data": {"choices": choices(_focused(interaction)) if who else []}}, []
    if kind not in (COMMAND, COMPONENT):
        raise errors.BadInput(f"unsupported interaction type {kind}")
    action, typed_id, options = (_component(interaction) if kind == COMPONENT else _command(interaction))
    if who is None:
        return say(NOT_IN_TEAM), []
    if action not in STATE_CHANGES:
        return _run(action, typed_id, options, who, kind, cfg, now)
    done = actions.once(f"interaction-{clean(interaction.get('id'), 100)}", now,
                        lambda: _run(action, typed_id, options, who, kind, cfg, now))
    return done or (say("This interaction was already handled; nothing changed."), [])


def _run(action: str, typed_id: str, options: dict, who: str | None, kind: int, cfg: Config,
         now: datetime) -> tuple[dict, list[str]]:
    if action == "show":
        incident = actions.get(typed_id)
        return say(_describe(incident, cfg), incident_id=incident.id), []
    if action == "list":
        return say(_listing(cfg)), []
    if action == "oncall":
        return say(_on_call(cfg, now)), []
    if action == "handoff":
        return say(handoff.text(handoff.compose(now, cfg), cfg)[0]), []
    if action == "override":
        made = oncall.add_override({"covering": options.get("member"), "start": options.get("from"),
                                    "end": options.get("to"), "actor": who, "note": options.get("note")}, now, cfg)
        return say(f"Override set: {cfg.person(made['covering']).name} is on call from {iso(made['start'])} to "
                   f"{iso(made['end'])}.", ephemeral=False), []
    if action == "silence":
        matchers = {"service": str(options.get("service") or "")}
        if options.get("severity"):
            matchers["severity"] = str(options["severity"])
        made, due = silences.create({"actor": who, "matchers": matchers, "duration": options.get("duration"),
                                     "comment": options.get("comment")}, now, cfg)
        until = local_time(datetime.fromisoformat(made["end"].replace("Z", "+00:00")), cfg)
        said = f"🔕 Silenced {made['id']}: service={matchers['service']} until {until}"
        warning = made.get("warning") or {}
        if warning.get("open_critical"):
            said += f"\n⚠️ Still announced (Critical, open): {', '.join(warning['open_critical'])}"
        return say(said, ephemeral=False), due
    if action == "unsilence":
        ended = silences.delete(str(options.get("id") or ""), who, now, cfg)
        return say(f"🔔 Silence {ended['id']} ended.", ephemeral=False), []
    if action == "status-update":
        body = {field: options[name] for name, field in STATUS_UPDATE_OPTIONS.items() if options.get(name) not in
                (None, "")}
        made, _ = status_updates.post(typed_id, {**body, "by": who}, None, now, cfg)
        return say(f"📣 Posted on the status page ({made['incident']}, update {made['n']}):\n{made['text']}",
                   ephemeral=False), []
    if action.startswith("postmortem-"):
        return _postmortem(action.removeprefix("postmortem-"), typed_id, options, who, cfg, now)
    if action == "severity":
        due = actions.set_severity(typed_id, options.get("level"), who, now, cfg, clean(options.get("reason"), 500))
    elif action == "note":
        due = actions.note(typed_id, who, options.get("text"), now, cfg)
    elif action == "ack":
        due = actions.acknowledge(typed_id, who, now, cfg, clean(options.get("detail"), 500))
    elif action in actions.PHASES:
        due = actions.progress(typed_id, action, who, now, cfg, clean(options.get("detail"), 500))
    elif action in ("resolve", "invalid"):
        due = actions.resolve(typed_id, who, now, cfg, clean(options.get("detail"), 500), invalid=action == "invalid")
    else:
        raise errors.BadInput(f"unknown action {quoted(action)}")
    incident = actions.get(typed_id)
    if kind == COMPONENT:  # the alert itself shows the new state; the thread gets the step's reply
        return {"type": UPDATE_MESSAGE, "data": discord.card(incident, cfg, now, settings().public_url)}, due
    emoji, label = actions.STEPS.get(action, ("✏️", f"{action} recorded"))
    return say(f"{emoji} {incident.id}: {label}.", incident_id=incident.id), due


def _postmortem(sub: str, typed_id: str, options: dict, who: str | None, cfg: Config,
                now: datetime) -> tuple[dict, list[str]]:
    """/postmortem show|action|done|reviewed|flag: the API's postmortem use cases, the actor being who typed it."""
    iid = actions.incident_id(typed_id)
    if sub == "show":
        return say(_postmortem_text(postmortems.get(iid), cfg, settings().public_url)), []
    if sub == "flag":
        actions.flag(iid, who, options.get("kind"), now, cfg)
        what = str(options["kind"]).replace("_", " ")
        return say(f"🚩 {iid} flagged as {what}: it needs a postmortem (drafted once it is resolved).",
                   ephemeral=False), []
    if sub == "reviewed":
        postmortems.reviewed(iid, {"actor": who}, now, cfg)
        return say(f"✅ The postmortem of {iid} is reviewed.", ephemeral=False), []
    if sub == "action":
        item, _, due = postmortems.add_action_item(iid, {"action": options.get("text"), "owner": options.get("owner"),
                                                         "deadline": options.get("deadline"), "actor": who}, now, cfg)
        return say(f"📝 {iid}: action item {item['n']} for {cfg.person(item['owner']).name}, due {item['deadline']}: "
                   f"{discord_text(item['action'][:300])}", ephemeral=False), due
    number = options.get("item")
    if isinstance(number, bool) or not isinstance(number, int | str) or not str(number).isascii() \
            or not str(number).isdigit() or len(str(number)) > 4:
        raise errors.BadInput("item: expected the action item's number")
    changed, due = postmortems.change_action_item(iid, int(number), {"done": True, "actor": who}, now, cfg)
    return say(f"✅ {iid}: action item {int(number)} done.", ephemeral=False), due


def _postmortem_text(pm: dict, cfg: Config, public_url: str) -> str:
    names = {p.id: p.name for p in cfg.people}
    deadline = postmortem_rules.review_deadline(pm["resolved_at"]) if pm.get("resolved_at") else None
    review = f"reviewed by {names.get(pm.get('reviewed_by'), pm.get('reviewed_by'))}" if pm.get("reviewed_at") else \
        f"review by {local_time(deadline, cfg)}" if deadline else ""
    lines = [f"**Postmortem of {pm['incident']}** · {pm['severity'].title()} · {', '.join(pm.get('reasons') or [])}",
             discord_text(pm["title"][:200]),
             f"Owner: {names.get(pm.get('owner'), 'nobody yet')} · {review}"
             + (f" · GitHub issue #{pm['github_issue']}" if pm.get("github_issue") else "")]
    items = pm.get("action_items") or []
    lines += [f"{a['n']}. {'✅' if a['done'] else '⬜'} {discord_text(a['action'][:150])} · "
              f"{names.get(a['owner'], a['owner'])}, due {a['deadline']}" for a in items[:15]]
    if len(items) > 15:
        lines.append(f"… and {len(items) - 15} more")
    if not items:
        lines.append("No action items yet: `/postmortem action` adds one.")
    return "\n".join(lines + [f"The whole postmortem: {postmortems.page(pm['incident'], public_url)}"])


def refusal(error: errors.Refusal) -> dict:
    """An expected refusal, said to the person who clicked (only them)."""
    if isinstance(error, errors.Unavailable):
        return say("Storage is unavailable right now; nothing changed. Try again in a moment.")
    said = error.message[:1900]
    return say(said if "nothing changed" in said else f"Nothing changed: {said}")


# ---------------------------------------------------------------- reading the interaction

def member(interaction: dict, cfg: Config) -> str | None:
    """Return the person id of whoever clicked (by their Discord user id in the team file), else None."""
    user = (interaction.get("member") or {}).get("user") or interaction.get("user") or {}
    uid = str(user.get("id") or "") if isinstance(user, dict) else ""
    return next((p.id for p in cfg.people if uid and p.discord_id == uid), None)


def _component(interaction: dict) -> tuple[str, str, dict]:
    data = interaction.get("data") if isinstance(interaction.get("data"), dict) else {}
    prefix, _, rest = str(data.get("custom_id") or "").partition(":")
    action, _, typed_id = rest.partition(":")
    if prefix != "incident" or not action or not typed_id:
        raise errors.BadInput(f"unknown component {quoted(data.get('custom_id'))}")
    options = {}
    if action == "severity":
        values = data.get("values") if isinstance(data.get("values"), list) else []
        options["level"] = str(values[0]) if values else ""
    return action, typed_id, options


def _options(items: object) -> dict:
    return {str(o.get("name")): o.get("value") for o in items if isinstance(o, dict)} \
        if isinstance(items, list) else {}


def _command(interaction: dict) -> tuple[str, str, dict]:
    data = interaction.get("data") if isinstance(interaction.get("data"), dict) else {}
    name = str(data.get("name") or "")
    subs = [o for o in data.get("options") or [] if isinstance(o, dict) and o.get("type") in (1, 2)]
    sub = subs[0] if subs else {}
    options = _options(sub.get("options") if sub else data.get("options"))
    if name == "incident":
        action = str(sub.get("name") or "")
        action = {"acknowledge": "ack"}.get(action, action)
        if action not in STATE_CHANGES | {"show", "list"}:
            raise errors.BadInput(f"unknown /incident subcommand {quoted(action)}")
        return action, str(options.get("id") or ""), options
    if name == "oncall":
        return ("override" if sub.get("name") == "override" else "oncall"), "", options
    if name == "handoff":
        return "handoff", "", options
    if name == "silence":
        return ("unsilence" if sub.get("name") == "end" else "silence"), "", options
    if name == "status-update":
        return "status-update", str(options.get("incident") or ""), options
    if name == "postmortem":
        if sub.get("name") not in POSTMORTEM_SUBS:
            raise errors.BadInput(f"unknown /postmortem subcommand {quoted(sub.get('name'))}")
        return f"postmortem-{sub['name']}", str(options.get("incident") or ""), options
    raise errors.BadInput(f"unknown command {quoted(name)}")


def _focused(interaction: dict) -> str:
    """Return what the person has typed into the focused option so far."""
    data = interaction.get("data") if isinstance(interaction.get("data"), dict) else {}
    stack = list(data.get("options") or [])
    while stack:
        option = stack.pop()
        if isinstance(option, dict):
            if option.get("focused"):
                return str(option.get("value") or "")
            stack += option.get("options") or []
    return ""


# ---------------------------------------------------------------- what is said

_cache = TimedCache(CACHE_SECONDS)


def _active() -> list:
    return _cache.get("active", lambda: listing.active(100))


def choices(typed: str) -> list[dict]:
    """Active incidents whose id or title holds what was typed, newest first, at most 25."""
    needle = typed.strip().lower()
    out = []
    for i in _active():
        if needle in i.id.lower() or needle in i.title.lower():
            out.append({"name": f"{i.id} · {i.severity.name.title()} · {i.title}"[:100], "value": i.id})
    return out[:MAX_CHOICES]


def _describe(incident, cfg: Config) -> str:
    owner = cfg.person(incident.owner).name if incident.owner in {p.id for p in cfg.people} else "nobody yet"
    lines = [f"**{incident.id}** · {incident.severity.name.title()} · {incident.status}"
             + (f" ({incident.phase})" if incident.phase else "") + (" · invalid" if incident.invalid else ""),
             discord_text(incident.title[:300]),
             f"Owner: {owner} · opened {local_time(incident.created_at, cfg)} · {incident.occurrences} occurrences",
             f"Respond by {local_time(incident.respond_by, cfg)} · resolve by {local_time(incident.resolve_by, cfg)}"]
    return "\n".join(lines)


def _listing(cfg: Config) -> str:
    active = listing.active(20)
    if not active:
        return "No active incidents."
    return "\n".join(f"{i.id} · {i.severity.name.title()} · {i.status}" + (f" ({i.phase})" if i.phase else "")
                     + f" · {discord_text(i.title[:120])}" for i in active)


def _on_call(cfg: Config, now: datetime) -> str:
    current = oncall.at(now, cfg)
    following = oncall.at(current.next_handover, cfg)
    text = f"On call now: {cfg.person(current.primary).name} (backup {cfg.person(current.backup).name})"
    if current.override:
        text += f", covering for {cfg.person(current.rotation_primary).name}"
    return text + (f"\nFrom {local_time(current.next_handover, cfg)}: {cfg.person(following.primary).name}")


# How long the answer waits for the step's thread reply and reaction: on Cloud Functions a thread gets no CPU
# after the answer, so what is not out by then waits for the next sweep (within a minute); 1 s keeps the
# answer well inside Discord's 3 s.
DELIVERY_WAIT = 1.0
FIRESTORE_DEADLINE = 1.5  # Discord gives 3 s for the answer, cold start included


def serve(request) -> tuple:
    """POST /interactions/: verify the signature (401 before anything is read), answer the interaction."""
    def handle():
        http.allow(request.method, "POST")
        body = http.read_body(request)
        now = http.now()
        verify(settings(), body, request.headers.get("X-Signature-Ed25519", ""),
               request.headers.get("X-Signature-Timestamp", ""), now)
        interaction = parse(body)
        try:
            answer, due = handle_interaction(interaction, team(), settings(), now)
        except errors.Refusal as e:  # a person's mistake or a refusal: said to them (a bad body was a 400 above)
            return http.json_response(refusal(e))
        delivery.deliver_soon(due, team(), settings(), now, DELIVERY_WAIT)
        return http.json_response(answer)

    return http.guarded(handle, request, FIRESTORE_DEADLINE)
