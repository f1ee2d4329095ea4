/**
 * On a customer's page in the admin: the ERPNext Customer it is linked to (or that it is not linked), the
 * billing address ERPNext holds and the state of the last sync to Medusa.
 */
import { defineWidgetConfig } from "@medusajs/admin-sdk"
import type { DetailWidgetProps, HttpTypes } from "@medusajs/framework/types"
import { Container, Heading, Text } from "@medusajs/ui"
import { useEffect, useState } from "react"

type Address = Record<string, string | null>
type LastSync = { state: string; at: string; attempts: number; error: string | null }
type Erpnext =
  | { linked: false }
  | { linked: true; customer: string; customer_name: string; billing_address: Address | null; last_sync: LastSync | null }

const ADDRESS_ORDER = ["address_line1", "address_line2", "city", "state", "pincode", "country"]

/** An ISO-8601 moment as "2026-12-07 11:42 UTC". */
function shownTime(iso: string): string {
  const moment = new Date(iso)
  return Number.isNaN(moment.getTime()) ? iso : `${moment.toISOString().slice(0, 16).replace("T", " ")} UTC`
}

function attempts(count: number): string {
  return count === 1 ? "1 attempt" : `${count} attempts`
}

function ErpnextCustomerWidget({ data }: DetailWidgetProps<HttpTypes.AdminCustomer>) {
  const [erpnext, setErpnext] = useState<Erpnext | null>(null)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    fetch(`/admin/erpnext/customers/${encodeURIComponent(data.id)}`, { credentials: "include" })
      .then(async (res) => {
        const body = await res.json()
        if (!res.ok) {
          throw new Error(body?.error ?? `HTTP ${res.status}`)
        }
        setErpnext(body.erpnext as Erpnext)
      })
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)))
  }, [data.id])

  return (
    <Container className="divide-y p-0" data-testid="erpnext-customer-widget">
      <div className="px-6 py-4">
        <Heading level="h2">ERPNext</Heading>
      </div>
      <div className="px-6 py-4">
        {error ? (
          <Text size="small">Cannot reach ERPNext: {error}</Text>
        ) : !erpnext ? (
          <Text size="small">Loading...</Text>
        ) : !erpnext.linked ? (
          <Text size="small">Not linked to ERPNext</Text>
        ) : (
          <div className="flex flex-col gap-y-2">
            <Text size="small">
              Customer: {erpnext.customer_name} ({erpnext.customer})
            </Text>
            <Text size="small">
              Billing address:{" "}
              {erpnext.billing_address
                ? ADDRESS_ORDER.map((field) => erpnext.billing_address?.[field])
                    .filter(Boolean)
                    .join(", ")
                : "none"}
            </Text>
            <Text size="small">
              Last sync:{" "}
              {erpnext.last_sync
                ? `${erpnext.last_sync.state} at ${shownTime(erpnext.last_sync.at)} (${attempts(erpnext.last_sync.attempts)})` +
                  (erpnext.last_sync.error ? `: ${erpnext.last_sync.error}` : "")
                : "none"}
            </Text>
          </div>
        )}
      </div>
    </Container>
  )
}

export const config = defineWidgetConfig({ zone: "customer.details.after" })

export default ErpnextCustomerWidget
