"""The one way grokgate reaches grok.com: a browser's TLS and HTTP/2 fingerprint.

grok.com sits behind Cloudflare, which refuses a handshake no browser sends before it looks at
any cookie (docs/grok-web.md, "Cloudflare"). Every grok.com call (REST chat, uploads, rate
limits, the session query, media, asset downloads, both WebSockets) goes through the
:class:`~grokgate.upstream.browser.api.Browser` interface; :mod:`.curl` implements it with
curl_cffi's Chrome impersonation, imported only when the first grok.com call is made.
"""
