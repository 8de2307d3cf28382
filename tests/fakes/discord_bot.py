"""The bot half of the fake Discord: create/edit/get a message (with its reactions), start a thread from it, react,
list who reacted, guild commands.

Docs (INTEGRATIONS.md A7-A9): https://discord.com/developers/docs/resources/message#create-message,
#edit-message, #create-reaction, #get-reactions, #reaction-object;
https://discord.com/developers/docs/resources/channel#start-thread-from-message;
https://discord.com/developers/docs/interactions/application-commands#bulk-overwrite-guild-application-commands
"""
from __future__ import annotations

import json
import re
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.discord_rules import add_error, is_empty, validate, validate_commands
from tests.fakes.server import json_response

# https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes
UNKNOWN_CHANNEL, UNKNOWN_MESSAGE, UNKNOWN_EMOJI, MISSING_ACCESS, NOT_AUTHOR, WRONG_CHANNEL_TYPE = (
    10003, 10008, 10014, 50001, 50005, 50024)
EMPTY_MESSAGE, INVALID_FORM, INVALID_JSON, THREAD_EXISTS = 50006, 50035, 50109, 160004
ARCHIVE_MINUTES = (60, 1440, 4320, 10080)
THREAD_NAME_MAX = 100
NONCE_MAX = 25
NONCE_WINDOW = 300.0   # "the past few minutes" in which enforce_nonce finds an earlier message
PUBLIC_THREAD, GUILD_TEXT = 11, 0
REACTIONS_LIMIT_DEFAULT, REACTIONS_LIMIT_MAX = 25, 100   # GET .../reactions/{emoji}: limit 1-100, default 25
MESSAGES_LIMIT_DEFAULT, MESSAGES_LIMIT_MAX = 50, 100   # GET /channels/{id}/messages: limit 1-100, default 50
_CUSTOM_EMOJI = re.compile(r"^\w{2,32}:\d+$")


def invalid_form(errors: dict) -> Response:
    return bot_error(400, "Invalid Form Body", INVALID_FORM, errors)


def bot_error(status: int, message: str, code: int, errors: dict | None = None) -> Response:
    body: dict[str, Any] = {"message": message, "code": code}
    return json_response({**body, "errors": errors} if errors is not None else body, status)


class BotEndpoints:
    """Mixed into FakeDiscord: the endpoints a bot token calls. State lives on the fake (messages, channels)."""

    BOT_USER_ID = "700000000000000001"

    def _init_bot(self, bot_token: str | None, application_id: str, guild_id: str) -> None:
        self.bot_token, self.application_id, self.guild_id = bot_token, application_id, guild_id
        self.channels: dict[str, dict[str, Any]] = {}
        self.threads: dict[str, dict[str, Any]] = {}        # thread id (= its message's id) -> thread
        self.reactions: list[dict[str, str]] = []            # {channel_id, message_id, emoji, user_id}
        self.users: dict[str, dict[str, Any]] = {self.BOT_USER_ID: {
            "id": self.BOT_USER_ID, "username": "Fake Bot", "global_name": None, "avatar": None,
            "discriminator": "0000", "bot": True}}                    # user objects, for GET .../reactions/{emoji}
        self.commands: dict[tuple[str, str], list[dict]] = {}  # (application id, guild id) -> commands

    # -- set-up and inspection ----------------------------------------------------------------------------------
    def add_channel(self, channel_id: str | None = None, name: str = "alerts") -> str:
        """Make a text channel in the fake's guild that the bot can post in; return its id."""
        cid = str(channel_id or self._snowflake())
        with self._lock:
            self.channels[cid] = {"id": cid, "type": GUILD_TEXT, "guild_id": self.guild_id, "name": name}
        return cid

    def messages_in(self, channel_id: str) -> list[dict[str, Any]]:
        """Return the live messages of a channel or thread, oldest first."""
        with self._lock:
            return [m for m in self.messages if m["channel_id"] == str(channel_id)]

    def reactions_on(self, message_id: str) -> list[str]:
        """Return the emoji the bot added to a message, in order."""
        with self._lock:
            return [r["emoji"] for r in self.reactions
                    if r["message_id"] == str(message_id) and r["user_id"] == self.BOT_USER_ID]

    def react_as(self, user_id: str, message_id: str, emoji: str, username: str = "", bot: bool = False) -> None:
        """A person (or another bot) adds a reaction to a message in the Discord app."""
        with self._lock:
            record = next(m for m in self.messages if m["id"] == str(message_id))
            mine = {"channel_id": record["channel_id"], "message_id": str(message_id), "emoji": emoji,
                    "user_id": str(user_id)}
            if mine not in self.reactions:
                self.reactions.append(mine)
            self.users.setdefault(str(user_id), {"id": str(user_id), "username": username or f"user{user_id}",
                                                 "global_name": username or None, "avatar": None,
                                                 "discriminator": "0", **({"bot": True} if bot else {})})

    def unreact_as(self, user_id: str, message_id: str, emoji: str) -> None:
        """A person takes their reaction off."""
        with self._lock:
            self.reactions = [r for r in self.reactions if not (r["message_id"] == str(message_id) and
                                                                r["emoji"] == emoji and r["user_id"] == str(user_id))]

    def reaction_objects(self, message_id: str) -> list[dict[str, Any]]:
        """Return a message's `reactions` as Discord sends them: one reaction object per emoji, in the order first
        added, with its count and whether the bot (`me`) is among those who reacted."""
        grouped: dict[str, list[str]] = {}
        for r in self.reactions:
            if r["message_id"] == str(message_id):
                grouped.setdefault(r["emoji"], []).append(r["user_id"])
        out = []
        for emoji, users in grouped.items():
            custom = _CUSTOM_EMOJI.match(emoji)
            name, eid = (emoji.split(":", 1) if custom else (emoji, None))
            out.append({"count": len(users), "count_details": {"burst": 0, "normal": len(users)},
                        "me": self.BOT_USER_ID in users, "me_burst": False, "burst_colors": [],
                        "emoji": {"id": eid, "name": name}})
        return out

    # -- routing ----------------------------------------------------------------------------------------------------
    def bot_request(self, request: Request, endpoint: str, args: dict[str, str]) -> Response:
        """Answer one bot call: the token first, then the route's rate-limit bucket, then the call itself."""
        if not self.bot_token or request.headers.get("Authorization") != f"Bot {self.bot_token}":
            return bot_error(401, "401: Unauthorized", 0)
        bucket = f"app:{args['application_id']}" if "application_id" in args else f"channel:{args['channel_id']}"
        allowed, reset_after, headers = self._take(bucket)
        if not allowed:
            return self._rate_limited(reset_after, headers)
        response = getattr(self, f"_{endpoint}")(request, **args)
        response.headers.update(headers)
        return response

    def _bot_object(self, request: Request) -> dict | Response:
        """The request's JSON object, or the answer Discord gives when it is not one."""
        body = self._bot_body(request)
        if isinstance(body, (Response, dict)):
            return body
        return invalid_form({"_errors": [{"code": "DICT_TYPE_CONVERT", "message": "Only dictionaries"}]})

    def _bot_body(self, request: Request) -> Any:
        """Parse a JSON body (a list for command overwrites), or the multipart form a message may come as."""
        if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            return self._body(request)
        try:
            return json.loads(request.get_data() or b"")
        except ValueError:
            return bot_error(400, "The request body contains invalid JSON.", INVALID_JSON)

    def _channel(self, channel_id: str) -> dict | None:
        return self.channels.get(channel_id) or self.threads.get(channel_id)

    def _bot_message(self, channel_id: str, message_id: str) -> dict | None:
        return next((m for m in self.messages if m["id"] == message_id and m["channel_id"] == channel_id), None)

    # -- messages ---------------------------------------------------------------------------------------------------
    def _bot_post(self, request: Request, channel_id: str) -> Response:
        channel = self._channel(channel_id)
        if channel is None:
            return bot_error(404, "Unknown Channel", UNKNOWN_CHANNEL)
        body = self._bot_object(request)
        if isinstance(body, Response):
            return body
        errors = validate(body, keep_components=True)
        nonce = body.get("nonce")
        if nonce is not None and len(str(nonce)) > NONCE_MAX:
            add_error(errors, ("nonce",), "BASE_TYPE_MAX_LENGTH", f"Must be {NONCE_MAX} or fewer in length.")
        if errors:
            return invalid_form(errors)
        if nonce is not None and body.get("enforce_nonce"):
            now = self.clock.time()
            earlier = next((m for m in self.messages if m["channel_id"] == channel_id and m.get("nonce") == str(nonce)
                            and now - m["posted_at"] <= NONCE_WINDOW), None)
            if earlier is not None:
                return json_response(self._render(earlier))
        record = {"content": body.get("content") or "", "embeds": body.get("embeds") or [],
                  "components": body.get("components") or [], "attachments": body.get("attachments") or []}
        if is_empty(record):
            return bot_error(400, "Cannot send an empty message", EMPTY_MESSAGE)
        record.update(id=self._snowflake(), webhook_id=None, channel_id=channel_id,
                      thread_id=channel_id if channel_id in self.threads else None,
                      allowed_mentions=body.get("allowed_mentions"), username=None, avatar_url=None,
                      tts=bool(body.get("tts")), flags=body.get("flags") or 0, edits=[], created_at=self._now_iso(),
                      edited_at=None, nonce=None if nonce is None else str(nonce), posted_at=self.clock.time())
        self.messages.append(record)
        if channel_id in self.threads:
            self.threads[channel_id]["message_count"] += 1
        return json_response(self._render(record))

    def _bot_list(self, request: Request, channel_id: str) -> Response:
        """GET /channels/{id}/messages: the channel's messages, newest first, `limit` (1-100, default 50), those
        older than the message id `before` (https://discord.com/developers/docs/resources/message#get-channel-messages)."""
        if self._channel(channel_id) is None and channel_id not in self.threads:
            return bot_error(404, "Unknown Channel", UNKNOWN_CHANNEL)
        raw_limit, before = request.args.get("limit", str(MESSAGES_LIMIT_DEFAULT)), request.args.get("before")
        errors: dict[str, Any] = {}
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MESSAGES_LIMIT_MAX:
            add_error(errors, ("limit",), "NUMBER_TYPE_MAX", f"int value should be between 1 and {MESSAGES_LIMIT_MAX}.")
        if before is not None and not before.isdigit():
            add_error(errors, ("before",), "NUMBER_TYPE_COERCE", f'Value "{before}" is not snowflake.')
        if errors:
            return invalid_form(errors)
        with self._lock:
            found = sorted((m for m in self.messages if m["channel_id"] == channel_id
                            and (before is None or int(m["id"]) < int(before))), key=lambda m: int(m["id"]),
                           reverse=True)[:int(raw_limit)]
            return json_response([self._render(m) for m in found])

    def _bot_edit(self, request: Request, channel_id: str, message_id: str) -> Response:
        record = self._bot_message(channel_id, message_id) if self._channel(channel_id) else None
        if record is None:
            return bot_error(404, "Unknown Message", UNKNOWN_MESSAGE)
        if request.method == "GET":
            return json_response(self._render(record))
        if record["webhook_id"] is not None:
            return bot_error(403, "Cannot edit a message authored by another user", NOT_AUTHOR)
        body = self._bot_object(request)
        if isinstance(body, Response):
            return body
        errors = validate(body, keep_components=True)
        if errors:
            return invalid_form(errors)
        return self._apply_edit(record, body, keep=True)

    # -- threads and reactions ---------------------------------------------------------------------------------------
    def _bot_thread(self, request: Request, channel_id: str, message_id: str) -> Response:
        channel = self.channels.get(channel_id)
        if channel is None:
            if channel_id in self.threads:
                return bot_error(400, "Cannot execute action on this channel type", WRONG_CHANNEL_TYPE)
            return bot_error(404, "Unknown Channel", UNKNOWN_CHANNEL)
        if self._bot_message(channel_id, message_id) is None:
            return bot_error(404, "Unknown Message", UNKNOWN_MESSAGE)
        if message_id in self.threads:
            return bot_error(400, "A thread has already been created for this message", THREAD_EXISTS)
        body = self._bot_body(request)
        if isinstance(body, Response):
            return body
        body = body if isinstance(body, dict) else {}
        errors: dict[str, Any] = {}
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= THREAD_NAME_MAX:
            add_error(errors, ("name",), "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {THREAD_NAME_MAX} in length.")
        archive = body.get("auto_archive_duration", 4320)
        if archive not in ARCHIVE_MINUTES:
            add_error(errors, ("auto_archive_duration",), "BASE_TYPE_CHOICES",
                      f"Value must be one of {set(ARCHIVE_MINUTES)}.")
        if errors:
            return invalid_form(errors)
        thread = {"id": message_id, "type": PUBLIC_THREAD, "guild_id": channel["guild_id"], "parent_id": channel_id,
                  "name": name.strip(), "owner_id": self.BOT_USER_ID, "message_count": 0, "member_count": 1,
                  "thread_metadata": {"archived": False, "auto_archive_duration": archive, "locked": False,
                                      "archive_timestamp": self._now_iso()}}
        self.threads[message_id] = thread
        return json_response(thread, 201)

    def _reaction_target(self, channel_id: str, message_id: str, emoji: str) -> Response | None:
        """Discord's answer when a reaction's channel, message or emoji does not exist; None when all do."""
        if self._channel(channel_id) is None:
            return bot_error(404, "Unknown Channel", UNKNOWN_CHANNEL)
        if self._bot_message(channel_id, message_id) is None:
            return bot_error(404, "Unknown Message", UNKNOWN_MESSAGE)
        if not (_CUSTOM_EMOJI.match(emoji) or any(ord(c) > 0x2000 for c in emoji)):
            return bot_error(400, "Unknown Emoji", UNKNOWN_EMOJI)
        return None

    def _bot_react(self, request: Request, channel_id: str, message_id: str, emoji: str) -> Response:
        refused = self._reaction_target(channel_id, message_id, emoji)
        if refused is not None:
            return refused
        mine = {"channel_id": channel_id, "message_id": message_id, "emoji": emoji, "user_id": self.BOT_USER_ID}
        if mine not in self.reactions:  # reacting again with the same emoji changes nothing, and is still 204
            self.reactions.append(mine)
        return Response(status=204)

    def _bot_reactors(self, request: Request, channel_id: str, message_id: str, emoji: str) -> Response:
        """GET .../reactions/{emoji}: the users who reacted, sorted by id, `limit` (1-100, default 25) after the user
        id `after`; `type` 0 is normal reactions (we have no burst ones)."""
        refused = self._reaction_target(channel_id, message_id, emoji)
        if refused is not None:
            return refused
        errors: dict[str, Any] = {}
        raw_limit, after = request.args.get("limit", str(REACTIONS_LIMIT_DEFAULT)), request.args.get("after", "0")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= REACTIONS_LIMIT_MAX:
            add_error(errors, ("limit",), "NUMBER_TYPE_MAX",
                      f"int value should be between 1 and {REACTIONS_LIMIT_MAX}.")
        if not after.isdigit():
            add_error(errors, ("after",), "NUMBER_TYPE_COERCE", f'Value "{after}" is not snowflake.')
        if errors:
            return invalid_form(errors)
        ids = sorted({r["user_id"] for r in self.reactions if r["message_id"] == message_id and r["emoji"] == emoji
                      and r["channel_id"] == channel_id}, key=int)
        page = [u for u in ids if int(u) > int(after)][:int(raw_limit)]
        return json_response([self.users.get(u, {"id": u, "username": f"user{u}", "avatar": None,
                                                 "discriminator": "0", "global_name": None}) for u in page])

    # -- application commands -------------------------------------------------------------------------------------
    def _bot_commands(self, request: Request, application_id: str, guild_id: str) -> Response:
        if application_id != self.application_id or guild_id != self.guild_id:
            return bot_error(403, "Missing Access", MISSING_ACCESS)
        key = (application_id, guild_id)
        if request.method == "GET":
            return json_response(self.commands.get(key, []))
        body = self._bot_body(request)
        if isinstance(body, Response):
            return body
        errors = validate_commands(body)
        if errors:
            return invalid_form(errors)
        old = {c["name"]: c["id"] for c in self.commands.get(key, [])}
        saved = [{**c, "id": old.get(c["name"]) or self._snowflake(), "application_id": application_id,
                  "guild_id": guild_id, "type": c.get("type", 1), "version": self._snowflake()} for c in body]
        self.commands[key] = saved
        return json_response(saved)
