{#- pre-hook / post-hook: each is rendered in the node's context and run
    inside or outside the model's transaction, as configured. -#}
{% macro run_hooks(hooks, inside_transaction=true) %}
    {% for hook in hooks | selectattr('transaction', 'equalto', inside_transaction) %}
        {% set rendered = render(hook.get('sql')) | trim %}
        {% if rendered | length > 0 %}
            {% call statement(auto_begin=inside_transaction) %}
                {{ rendered }}
            {% endcall %}
        {% endif %}
    {% endfor %}
{% endmacro %}

{#- The end every materialization shares once its relation is built: docs,
    grants (not for seeds), post-hooks around the commit. -#}
{% macro finish_materialization(target_relation, grants=true) %}
    {% do persist_docs(target_relation, model) %}
    {% if grants %}{% do apply_grants(target_relation, config.get('grants')) %}{% endif %}
    {{ run_hooks(post_hooks, inside_transaction=true) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=false) }}
{% endmacro %}
