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
