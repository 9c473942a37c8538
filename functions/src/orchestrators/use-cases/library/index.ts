/**
 * The built-in template library: the platform root, one abstract template
 * per vertical, and one complete use case per vertical built on it. Each
 * template is one file; what they share lives in the template they extend.
 */

import { type Template, type TemplateInput, type TemplateRef, TemplateSchema } from '../templates/model.js';
import type { TemplateLoader } from '../templates/resolve.js';
import { banking } from './banking.js';
import { bankingFraudScreening } from './banking-fraud-screening.js';
import { customerSupport } from './customer-support.js';
import { customerSupportTicketRouting } from './customer-support-ticket-routing.js';
import { healthcare } from './healthcare.js';
import { healthcarePriorAuthTriage } from './healthcare-prior-auth-triage.js';
import { insurance } from './insurance.js';
import { insuranceClaimsTriage } from './insurance-claims-triage.js';
import { retail } from './retail.js';
import { retailDemandAnomalyWatch } from './retail-demand-anomaly-watch.js';
import { seraphimBase } from './seraphim-base.js';

/** Parents before children: the root, the verticals, then the use cases. */
const SOURCES: readonly TemplateInput[] = [
  seraphimBase,
  banking,
  insurance,
  healthcare,
  retail,
  customerSupport,
  bankingFraudScreening,
  insuranceClaimsTriage,
  healthcarePriorAuthTriage,
  retailDemandAnomalyWatch,
  customerSupportTicketRouting,
];

export const BUILTIN_TEMPLATES: readonly Template[] = Object.freeze(
  SOURCES.map((t) => TemplateSchema.parse(t)),
);

const byRef = new Map(BUILTIN_TEMPLATES.map((t) => [`${t.metadata.id}@${t.metadata.version}`, t]));

/** The built-in template of this id and version, or undefined. */
export function builtinTemplate(ref: TemplateRef): Template | undefined {
  return byRef.get(`${ref.id}@${ref.version}`);
}

/** A loader over the built-in library alone, for `resolveTemplate` and `validateTemplate`. */
export const loadBuiltinTemplate: TemplateLoader = async (ref) => builtinTemplate(ref) ?? null;
