import { authenticate, defineMiddlewares } from "@medusajs/framework/http"

export default defineMiddlewares({
  routes: [
    {
      // Only a logged-in customer's bearer token: the route forwards that very token to the service.
      matcher: "/store/erpnext/*",
      middlewares: [authenticate("customer", ["bearer"])],
    },
  ],
})
