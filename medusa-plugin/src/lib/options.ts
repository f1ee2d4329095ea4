/**
 * The plugin's options (the `options` of its entry in medusa-config's `plugins`), checked once, and what the
 * subscriber and the routes share: the webhook signature and a fetch with a time limit. Nothing here logs;
 * the secret never leaves this module except as an HMAC.
 */
import { createHmac } from "node:crypto"

export const PLUGIN_NAME = "@erpnext-medusa/medusa-plugin"
export const SIGNATURE_HEADER = "X-ERPNext-Medusa-Signature"

/** The webhook secret must be at least this long (as the service's other shared secrets). */
const MIN_SECRET_BYTES = 32
const DEFAULT_TIMEOUT_MS = 10_000

/** What the host writes in `plugins: [{ resolve: "@erpnext-medusa/medusa-plugin", options: { ... } }]`. */
export type ErpnextPluginOptions = {
  /** The erpnext-medusa service's http(s) base URL, e.g. http://127.0.0.1:8000 */
  serviceUrl?: unknown
  /** The webhook signing secret, the same value as the service's ERPNEXT_MEDUSA_WEBHOOK_SECRET. */
  webhookSecret?: unknown
  /** An API key of the service ("key:secret"), for the admin widget's look-ups; optional. */
  apiKey?: unknown
  /** Milliseconds each call to the service gets before it counts as unreachable (default 10000). */
  timeoutMs?: unknown
}

export type ErpnextSettings = {
  /** Base URL without a trailing slash. */
  url: string
  webhookSecret: string
  apiKey: string | null
  timeoutMs: number
}

/** Checks the plugin's options; throws naming the bad option. */
export function checkOptions(options: ErpnextPluginOptions | undefined): ErpnextSettings {
  const raw = typeof options?.serviceUrl === "string" ? options.serviceUrl.trim() : ""
  let url: URL | undefined
  try {
    url = new URL(raw)
  } catch {
    url = undefined
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new Error(
      `${PLUGIN_NAME}: option serviceUrl must be the erpnext-medusa service's http(s) base URL, e.g. http://127.0.0.1:8000`
    )
  }
  const webhookSecret = typeof options?.webhookSecret === "string" ? options.webhookSecret : ""
  if (Buffer.byteLength(webhookSecret) < MIN_SECRET_BYTES) {
    throw new Error(
      `${PLUGIN_NAME}: option webhookSecret must be at least ${MIN_SECRET_BYTES} bytes, the same value as the service's`
    )
  }
  const apiKey = options?.apiKey ?? null
  if (apiKey !== null && (typeof apiKey !== "string" || !/^[^:\s]+:[^:\s]+$/.test(apiKey))) {
    throw new Error(`${PLUGIN_NAME}: option apiKey must be the service's API key as "key:secret"`)
  }
  const timeoutMs = options?.timeoutMs ?? DEFAULT_TIMEOUT_MS
  if (typeof timeoutMs !== "number" || !Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 300_000) {
    throw new Error(`${PLUGIN_NAME}: option timeoutMs must be a whole number of milliseconds from 100 to 300000`)
  }
  return { url: raw.replace(/\/+$/, ""), webhookSecret, apiKey, timeoutMs }
}

/** Resolves what a container can give (Medusa's request scope or a subscriber's container). */
type Resolver = { resolve: <T = unknown>(key: string) => T }

type PluginEntry = string | { resolve?: string; options?: ErpnextPluginOptions }

/** The checked options of this plugin's entry in the host's configuration. */
export function settingsFrom(container: Resolver): ErpnextSettings {
  const config = container.resolve<{ plugins?: PluginEntry[] }>("configModule")
  const entry = (config.plugins ?? []).find(
    (plugin) => typeof plugin === "object" && plugin.resolve === PLUGIN_NAME
  ) as { options?: ErpnextPluginOptions } | undefined
  return checkOptions(entry?.options)
}

/**
 * The signature header's value for one delivery attempt: `t=<unix seconds>,v1=<hex HMAC-SHA256>` over
 * "<t>.<raw body>". The timestamp is inside the HMAC so that the receiver can refuse replays of old requests.
 */
export function signBody(secret: string, body: string, nowMs: number = Date.now()): string {
  const t = Math.floor(nowMs / 1000)
  const v1 = createHmac("sha256", secret).update(`${t}.${body}`).digest("hex")
  return `t=${t},v1=${v1}`
}

/** Calls a path of the service (POST with a JSON text, or GET without a body). Network errors and time-outs reject. */
export function callService(
  settings: ErpnextSettings,
  path: string,
  body: string | null,
  headers: Record<string, string> = {}
): Promise<Response> {
  return fetch(`${settings.url}${path}`, {
    method: body === null ? "GET" : "POST",
    headers: { ...(body === null ? {} : { "Content-Type": "application/json" }), Accept: "application/json", ...headers },
    body,
    signal: AbortSignal.timeout(settings.timeoutMs),
  })
}
