/**
 * What the subscriber and the store route share: the erpnext-medusa service's settings, the webhook signature
 * and a fetch with a time limit. Nothing here logs; the secret never leaves this module except as an HMAC.
 */
import { createHmac } from "node:crypto"

export const SIGNATURE_HEADER = "X-ERPNext-Medusa-Signature"

/** The webhook secret must be at least this long (as the service's other shared secrets). */
const MIN_SECRET_BYTES = 32

/** Each call to the service gets this long before it counts as unreachable. */
const TIMEOUT_MS = 10_000

export type ErpnextSettings = {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:8000 */
  url: string
  webhookSecret: string
}

/** Reads and checks ERPNEXT_MEDUSA_URL and ERPNEXT_MEDUSA_WEBHOOK_SECRET; throws naming the bad variable. */
export function readErpnextSettings(env: NodeJS.ProcessEnv = process.env): ErpnextSettings {
  const raw = (env.ERPNEXT_MEDUSA_URL ?? "").trim()
  let url: URL | undefined
  try {
    url = new URL(raw)
  } catch {
    url = undefined
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new Error(
      "ERPNEXT_MEDUSA_URL must be the erpnext-medusa service's http(s) base URL, e.g. http://127.0.0.1:8000"
    )
  }
  const webhookSecret = env.ERPNEXT_MEDUSA_WEBHOOK_SECRET ?? ""
  if (Buffer.byteLength(webhookSecret) < MIN_SECRET_BYTES) {
    throw new Error(
      `ERPNEXT_MEDUSA_WEBHOOK_SECRET must be set to at least ${MIN_SECRET_BYTES} bytes, the same value as the service's`
    )
  }
  return { url: raw.replace(/\/+$/, ""), webhookSecret }
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

/** POSTs a JSON text to a path of the service. Network errors and time-outs reject. */
export function postJson(
  settings: ErpnextSettings,
  path: string,
  body: string,
  headers: Record<string, string> = {}
): Promise<Response> {
  return fetch(`${settings.url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", ...headers },
    body,
    signal: AbortSignal.timeout(TIMEOUT_MS),
  })
}
