import { defineConfig, loadEnv } from "@medusajs/framework/utils"
import { checkOptions, type ErpnextPluginOptions } from "@erpnext-medusa/medusa-plugin/options"

// Reads .env (and .env.<NODE_ENV>) when present; variables already set in the environment win.
loadEnv(process.env.NODE_ENV || "development", process.cwd())

// `medusa build` loads this file only to compile the project: it needs no database and no secrets.
const building = process.argv[2] === "build"

function required(name: string): string {
  const value = process.env[name] ?? ""
  if (!value && !building) {
    throw new Error(`${name} is not set (see examples/medusa/README.md)`)
  }
  return value
}

// The plugin's options, from this project's environment (see README.md).
const erpnextOptions: ErpnextPluginOptions = {
  serviceUrl: process.env.ERPNEXT_MEDUSA_URL,
  webhookSecret: process.env.ERPNEXT_MEDUSA_WEBHOOK_SECRET,
  apiKey: process.env.ERPNEXT_MEDUSA_API_KEY || undefined,
  timeoutMs: process.env.ERPNEXT_MEDUSA_TIMEOUT_MS ? Number(process.env.ERPNEXT_MEDUSA_TIMEOUT_MS) : undefined,
}

// Refuse to start with a missing or malformed option rather than fail on the first event.
if (!building) {
  checkOptions(erpnextOptions)
}

// The admin dashboard is off unless MEDUSA_ADMIN=on (it needs `medusa build` or `medusa develop` to be served).
const adminOn = ["on", "true", "1", "yes"].includes((process.env.MEDUSA_ADMIN ?? "").toLowerCase())

export default defineConfig({
  projectConfig: {
    databaseUrl: required("DATABASE_URL"),
    http: {
      storeCors: required("STORE_CORS"),
      adminCors: required("ADMIN_CORS"),
      authCors: required("AUTH_CORS"),
      jwtSecret: required("JWT_SECRET"),
      cookieSecret: required("COOKIE_SECRET"),
    },
  },
  admin: { disable: !adminOn },
  plugins: [{ resolve: "@erpnext-medusa/medusa-plugin", options: erpnextOptions }],
})
