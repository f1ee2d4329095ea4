/**
 * Sends every created or updated Medusa customer to erpnext-medusa (POST /webhooks/medusa/customer), which
 * records it as an ERPNext Lead. Failures are logged, never thrown: a webhook that cannot be delivered must
 * not disturb the shopper's request.
 */
import { randomUUID } from "node:crypto"
import type { SubscriberArgs, SubscriberConfig } from "@medusajs/framework"
import type { Logger } from "@medusajs/framework/types"
import { ContainerRegistrationKeys } from "@medusajs/framework/utils"
import { callService, type ErpnextSettings, settingsFrom, SIGNATURE_HEADER, signBody } from "../lib/options"

const WEBHOOK_PATH = "/webhooks/medusa/customer"
const CUSTOMER_FIELDS = ["id", "email", "first_name", "last_name", "phone", "company_name", "metadata"]

const MAX_ATTEMPTS = 5 // waits of 1 s, 2 s, 4 s and 8 s between them
const BASE_DELAY_MS = 1_000
const MAX_RETRY_AFTER_MS = 60_000 // a larger Retry-After is cut to this

export default async function erpnextCustomerSync({
  event: { name, data },
  container,
}: SubscriberArgs<{ id: string }>) {
  const logger = container.resolve<Logger>(ContainerRegistrationKeys.LOGGER)
  const settings = settingsFrom(container)
  const query = container.resolve(ContainerRegistrationKeys.QUERY)

  // The event carries only the id; read the fields the service maps onto a Lead.
  const { data: customers } = await query.graph({
    entity: "customer",
    fields: CUSTOMER_FIELDS,
    filters: { id: data.id },
  })
  const customer = customers[0]
  if (!customer) {
    logger.warn(`ERPNext sync: ${name} ${data.id}: the customer no longer exists, nothing sent`)
    return
  }

  const body = JSON.stringify({
    id: randomUUID(), // one id per event, the same on every attempt, so the service can drop duplicates
    type: name,
    data: Object.fromEntries(CUSTOMER_FIELDS.map((field) => [field, customer[field] ?? null])),
  })
  await deliver(settings, body, `${name} ${data.id}`, logger)
}

export const config: SubscriberConfig = {
  event: ["customer.created", "customer.updated"],
}

async function deliver(settings: ErpnextSettings, body: string, label: string, logger: Logger): Promise<void> {
  let failure = ""
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    let waitMs = BASE_DELAY_MS * 2 ** (attempt - 1)
    try {
      // A fresh timestamp (and so a fresh signature) per attempt: a retry is not a replay.
      const res = await callService(settings, WEBHOOK_PATH, body, {
        [SIGNATURE_HEADER]: signBody(settings.webhookSecret, body),
      })
      if (res.ok) {
        logger.info(`ERPNext sync: ${label} delivered${await describeLead(res)}`)
        return
      }
      await res.body?.cancel()
      failure = `HTTP ${res.status}`
      if (res.status !== 429 && res.status < 500) {
        break // the service refused this event (bad signature, bad data): sending it again cannot help
      }
      waitMs = retryAfterMs(res.headers.get("retry-after")) ?? waitMs
    } catch (err) {
      failure = describeError(err)
    }
    if (attempt < MAX_ATTEMPTS) {
      logger.warn(`ERPNext sync: ${label} attempt ${attempt} failed (${failure}), retrying in ${waitMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, waitMs))
    }
  }
  logger.error(`ERPNext sync: ${label} not delivered (${failure})`)
}

/** " to Lead <name> (created|updated)" from the answer {"message": {"lead": ..., "created": ...}}, if present. */
async function describeLead(res: Response): Promise<string> {
  try {
    const { message } = (await res.json()) as { message?: { lead?: unknown; created?: unknown } }
    if (typeof message?.lead === "string") {
      return ` to Lead ${message.lead} (${message.created ? "created" : "updated"})`
    }
  } catch {
    // not JSON: the delivery still succeeded
  }
  return ""
}

/** "fetch failed (ECONNREFUSED)": fetch hides the network cause one level down. */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) {
    return String(err)
  }
  const cause = (err.cause as { code?: unknown } | undefined)?.code
  return typeof cause === "string" ? `${err.message} (${cause})` : err.message
}

/** Retry-After in milliseconds (delta-seconds or an HTTP date), capped; undefined when absent or unreadable. */
function retryAfterMs(header: string | null): number | undefined {
  if (!header) {
    return undefined
  }
  const seconds = Number(header)
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now()
  return Number.isNaN(ms) ? undefined : Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS)
}
