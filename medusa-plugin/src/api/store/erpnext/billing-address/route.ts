/**
 * POST /store/erpnext/billing-address: the logged-in customer changes their ERPNext billing address.
 *
 * The customer's own bearer token goes to the service unchanged; the service (ERPNEXT_MEDUSA_GUEST_ACCESS=
 * medusa-token) checks it with Medusa's JWT secret and changes only the Customer whose medusa_id is the token's
 * actor_id. That is why no customer_id is sent: this route cannot pick someone else's address.
 */
import type { AuthenticatedMedusaRequest, MedusaResponse } from "@medusajs/framework/http"
import { callService, settingsFrom } from "../../../../lib/options"

const METHOD_PATH = "/api/method/medusa_integration.api.update_address"
const ADDRESS_FIELDS = ["address_line1", "address_line2", "city", "state", "country", "pincode"]

export async function POST(req: AuthenticatedMedusaRequest, res: MedusaResponse) {
  const parsed = addressFields(req.body)
  if (typeof parsed === "string") {
    res.status(400).json({ ok: false, error: parsed })
    return
  }

  let answer: Response
  try {
    answer = await callService(settingsFrom(req.scope), METHOD_PATH, JSON.stringify(parsed), {
      Authorization: req.headers.authorization ?? "",
    })
  } catch {
    res.status(502).json({ ok: false, error: "The ERPNext service is unreachable." })
    return
  }
  const body = (await answer.json().catch(() => undefined)) as Record<string, unknown> | undefined

  if (answer.status === 200) {
    // The contract answers both outcomes with HTTP 200: a text on success, {"error": ...} when a value is refused.
    const message = body?.message
    if (typeof message === "string") {
      res.status(200).json({ ok: true })
      return
    }
    const error = (message as { error?: unknown } | undefined)?.error
    if (typeof error === "string") {
      res.status(422).json({ ok: false, error })
      return
    }
  } else if (answer.status >= 400 && answer.status < 500) {
    // A refusal (403 PermissionError for a token that is not accepted, 429, ...) keeps its status.
    const retryAfter = answer.headers.get("retry-after")
    if (retryAfter) {
      res.setHeader("Retry-After", retryAfter)
    }
    res.status(answer.status).json({ ok: false, error: frappeErrorText(body) ?? `HTTP ${answer.status}` })
    return
  }
  res.status(502).json({ ok: false, error: `Unexpected answer from the ERPNext service (HTTP ${answer.status}).` })
}

/** The address fields of the body (text, or null to clear an optional one), or why the body is refused. */
function addressFields(body: unknown): Record<string, string | null> | string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return "The body must be a JSON object."
  }
  const unknown = Object.keys(body).filter((key) => !ADDRESS_FIELDS.includes(key))
  if (unknown.length) {
    return `Unknown fields: ${unknown.join(", ")}. Allowed: ${ADDRESS_FIELDS.join(", ")}.`
  }
  const fields: Record<string, string | null> = {}
  for (const [key, value] of Object.entries(body)) {
    if (typeof value !== "string" && value !== null) {
      return `${key} must be a string or null.`
    }
    fields[key] = value
  }
  if (!Object.keys(fields).length) {
    return `Give at least one of: ${ADDRESS_FIELDS.join(", ")}.`
  }
  return fields
}

/**
 * The first message of a Frappe error body (`_server_messages` is a JSON list of JSON objects with a
 * `message`), else its `exc_type`.
 */
function frappeErrorText(body: Record<string, unknown> | undefined): string | undefined {
  try {
    const first = JSON.parse(JSON.parse(String(body?._server_messages))[0])
    if (typeof first?.message === "string") {
      return first.message
    }
  } catch {
    // no messages (a bare AuthenticationError has none)
  }
  return typeof body?.exc_type === "string" ? body.exc_type : undefined
}
