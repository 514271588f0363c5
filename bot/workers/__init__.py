"""What runs beside the update handlers: submissions, message deliveries, status polls."""
