// Reads a JSON object {name: sql} on stdin; writes a JSON object {name: [error, ...]} with the syntax errors Trino's
// grammar finds in each statement (an empty list: valid). Run: node validate.mjs < statements.json
import { register } from 'node:module';

register('./resolve-hooks.mjs', import.meta.url);
const { TrinoSQL } = await import('dt-sql-parser');

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const statements = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const parser = new TrinoSQL();
const report = {};
for (const [name, sql] of Object.entries(statements)) {
  report[name] = parser.validate(sql).map(
    (error) => `line ${error.startLine}, column ${error.startColumn}: ${error.message}`,
  );
}
process.stdout.write(JSON.stringify(report));
