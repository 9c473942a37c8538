/** The `extends` reference of a template, read from its own metadata: the version is written once. */
import type { TemplateInput, TemplateRef } from '../templates/model.js';

export function refOf(template: TemplateInput): TemplateRef {
  return { id: template.metadata.id, version: template.metadata.version };
}
