CREATE TABLE "members" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"url" text NOT NULL,
	"token" text NOT NULL,
	"origin" text DEFAULT 'api' NOT NULL,
	"reachable" boolean,
	"last_error" text,
	"last_polled_at" timestamp with time zone,
	"last_ok_at" timestamp with time zone,
	"readings_cursor" bigint DEFAULT 0 NOT NULL,
	"observations_cursor" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "members_name_key" ON "members" USING btree ("name");--> statement-breakpoint
CREATE INDEX "events_origin_idx" ON "events" USING btree (("data"->>'origin')) WHERE "events"."data" ? 'origin';