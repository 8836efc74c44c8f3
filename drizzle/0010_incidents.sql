CREATE TABLE "incidents" (
	"id" serial PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"kind" text NOT NULL,
	"node_id" integer,
	"cluster_id" text,
	"severity" text NOT NULL,
	"title" text NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	"resolved_at" timestamp with time zone,
	"acknowledged_at" timestamp with time zone,
	"acknowledged_by" text,
	"event_count" integer DEFAULT 1 NOT NULL,
	"last_event_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "incident_id" integer;--> statement-breakpoint
CREATE UNIQUE INDEX "incidents_open_key" ON "incidents" USING btree ("key") WHERE "incidents"."resolved_at" is null;--> statement-breakpoint
CREATE INDEX "incidents_node_id_idx" ON "incidents" USING btree ("node_id","id");--> statement-breakpoint
CREATE INDEX "incidents_key_idx" ON "incidents" USING btree ("key","id");--> statement-breakpoint
CREATE INDEX "events_incident_id_idx" ON "events" USING btree ("incident_id","id");