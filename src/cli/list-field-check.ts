import { fieldsInNoRow, mergeFieldNames, missingFieldWarnings } from '../core/merge.js';
import type { EmailMessage } from '../core/message.js';
import type { RecipientRow } from '../lists/recipient-source.js';

/**
 * Warns about the template's merge fields that the list does not have — `{{nmae}}` would be empty
 * in every copy. A CSV list says at its header, before anything is sent; a JSONL list (whose rows
 * may differ) only once it has been read through.
 */
export class ListFieldCheck {
  private readonly unseen: Set<string>;
  private readonly rowFields = new Set<string>();
  private done = false;

  constructor(
    template: Pick<EmailMessage, 'subject' | 'html' | 'text'>,
    private readonly listName: string,
    private readonly warn: (message: string) => void,
  ) {
    this.unseen = new Set(mergeFieldNames(template).filter((field) => field !== 'email'));
  }

  readonly onCsvHeader = (fields: string[]): void => this.report(new Set(fields));

  seeRows(rows: RecipientRow[]): void {
    if (this.done || this.unseen.size === 0) return;
    for (const row of rows) {
      if ('error' in row) continue;
      for (const field of this.unseen) if (Object.hasOwn(row.fields, field)) this.unseen.delete(field);
      // Names for the warning's "it has …": a few rows' worth is enough.
      if (this.rowFields.size < 50) for (const field of Object.keys(row.fields)) this.rowFields.add(field);
    }
  }

  /** The end of the list. */
  finish(): void {
    if (!this.done) this.report(this.rowFields);
  }

  private report(rowFields: Set<string>): void {
    this.done = true;
    for (const warning of missingFieldWarnings(fieldsInNoRow([...this.unseen], rowFields), rowFields, this.listName)) this.warn(warning);
  }
}
