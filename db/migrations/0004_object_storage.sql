CREATE TABLE "storage_uploads" (
	"session_id" text PRIMARY KEY NOT NULL,
	"object_key" text NOT NULL,
	"upload_id" text NOT NULL,
	"chunk_size" integer NOT NULL,
	"parts" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"sealed" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
