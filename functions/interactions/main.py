"""Cloud Function `interactions`: Discord's Interactions Endpoint URL (buttons, slash commands, autocomplete).

POST /interactions/   headers X-Signature-Ed25519, X-Signature-Timestamp (Ed25519, DISCORD_PUBLIC_KEY)
A bad or missing signature is 401 before anything is read; PING is answered PONG. An expected refusal (not
in the team file, unknown incident, already resolved) is an ephemeral message, so the person sees why.
"""
import functions_framework

from shared import errors
from shared.config.settings import settings
from shared.notify import delivery
from shared.web import discord
from shared.web import http as web

web.start()
FIRESTORE_DEADLINE = 1.5  # Discord gives 3 s for the answer, cold start included
# How long the answer waits for the step's thread reply and reaction: on Cloud Functions a thread gets no CPU
# after the answer, so what is not out by then waits for the next sweep (within a minute); 1 s keeps the
# answer well inside Discord's 3 s.
DELIVERY_WAIT = 1.0


@functions_framework.http
def interactions(request):
    def handle():
        web.allow(request.method, "POST")
        body = web.read_body(request)
        discord.verify(settings(), body, request.headers.get("X-Signature-Ed25519", ""),
                            request.headers.get("X-Signature-Timestamp", ""))
        interaction, now = discord.parse(body), web.now()
        try:
            answer, due = discord.handle(interaction, discord.team(), settings(), now)
        except errors.Refusal as e:  # a person's mistake or a refusal: said to them (a bad body was a 400 above)
            return web.json_response(discord.refusal(e))
        delivery.deliver_soon(due, discord.team(), settings(), now, DELIVERY_WAIT)
        return web.json_response(answer)

    return web.guarded(handle, request, FIRESTORE_DEADLINE)
