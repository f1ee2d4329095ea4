/**
 * GET /admin/erpnext/customers/:id: what erpnext-medusa knows of a Medusa customer (the linked ERPNext
 * Customer, its billing address, the last sync's state), for the admin widget. Medusa lets only logged-in
 * admin users reach /admin routes; the service is asked with the plugin's `apiKey` option.
 */
import type { AuthenticatedMedusaRequest, MedusaResponse } from "@medusajs/framework/http"
import { callService, settingsFrom } from "../../../../../lib/options"

const METHOD_PATH = "/api/method/erpnext_medusa.api.medusa_customer"

export async function GET(req: AuthenticatedMedusaRequest, res: MedusaResponse) {
  const settings = settingsFrom(req.scope)
  if (!settings.apiKey) {
    res.status(501).json({ ok: false, error: "The plugin has no apiKey option, so it cannot ask the service." })
    return
  }
  let answer: Response
  try {
    const query = new URLSearchParams({ medusa_id: req.params.id })
    answer = await callService(settings, `${METHOD_PATH}?${query}`, null, {
      Authorization: `token ${settings.apiKey}`,
    })
  } catch {
    res.status(502).json({ ok: false, error: "The ERPNext service is unreachable." })
    return
  }
  const body = (await answer.json().catch(() => undefined)) as { message?: unknown } | undefined
  if (answer.status !== 200 || typeof body?.message !== "object" || body.message === null) {
    res.status(502).json({ ok: false, error: `Unexpected answer from the ERPNext service (HTTP ${answer.status}).` })
    return
  }
  res.status(200).json({ ok: true, erpnext: body.message })
}
