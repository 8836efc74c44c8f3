import type { WebhookView } from '../../../../shared/contracts/rest'
import { useWebhooks } from '../../../services/webhooks'

/** Every webhook with its newest delivery (viewers see only each URL's origin). */
export default defineEventHandler(async (event): Promise<WebhookView[]> => (await useWebhooks()).list(requirePrincipal(event).role))
